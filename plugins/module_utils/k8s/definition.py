# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn module options into manifests and reject bad input before anything is sent."""
from __future__ import annotations

import copy

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    dns1035_label_error,
    dns1123_label_error,
    dns1123_subdomain_error,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import validation

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False


class DefinitionError(ValueError):
    """Bad user input; the message names the field."""

    @property
    def msg(self):
        return str(self)


def load_definitions(definition, field="definition"):
    """A dict, a list of dicts or a YAML string (one or more documents) -> list of dicts."""
    if definition is None:
        return []
    if isinstance(definition, str):
        if not HAS_YAML:
            raise DefinitionError("%s: PyYAML is needed to parse a YAML string" % field)
        try:
            docs = [d for d in yaml.safe_load_all(definition) if d is not None]
        except yaml.YAMLError as exc:
            raise DefinitionError("%s is not valid YAML: %s" % (field, exc))
    elif isinstance(definition, dict):
        docs = [definition]
    elif isinstance(definition, list):
        docs = definition
    else:
        raise DefinitionError("%s must be a dict, a list or a YAML string" % field)
    out = []
    for index, doc in enumerate(docs):
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
            out.extend(copy.deepcopy(doc["items"]))
        elif isinstance(doc, dict):
            out.append(copy.deepcopy(doc))
        else:
            raise DefinitionError("%s[%d] is not a mapping" % (field, index))
    return out


REFERENCE_OPTIONS = ("api_version", "kind", "name")


def reference_object(params):
    """The object that api_version / kind / name / namespace name, or None when a definition is given.

    kubernetes.core.k8s deletes by reference (state=absent with kind and name, api_version v1 unless
    given); the resource module does the same. Only for deletion: applying needs a full definition.
    The options never mix with a definition (one would silently win). Raises DefinitionError naming
    the option, before any request.
    """
    given = [option for option in REFERENCE_OPTIONS if params.get(option) is not None]
    if params.get("definition") is not None:
        if given:
            raise DefinitionError("%s cannot be given with definition: the definition names the object. Remove %s, "
                                  "or remove definition" % (", ".join(given), " and ".join(given)))
        return None
    if params.get("state") != "absent":
        raise DefinitionError("definition is required with state=present (the object to apply); "
                              "api_version, kind and name without a definition only delete (state=absent)")
    if not params.get("kind"):
        raise DefinitionError("kind is required to delete without a definition: give kind (for example "
                              "kind: ConfigMap) and name, or give definition")
    if not params.get("name"):
        raise DefinitionError("name is required to delete without a definition: give name (the object's "
                              "metadata.name), or give definition")
    api_version = params.get("api_version") or "v1"
    error = validation.first_error(validation.api_version_error(api_version, "api_version"),
                                   validation.kind_error(params["kind"], "kind"),
                                   dns1123_subdomain_error(params["name"], "name"))
    if error:
        raise DefinitionError(error)
    return {"apiVersion": api_version, "kind": params["kind"], "metadata": {"name": params["name"]}}


def check_object(obj, default_namespace=None, index=None, namespaced=True):
    """Fill the namespace and validate apiVersion/kind/name; raise DefinitionError naming the field."""
    where = "definition" if index is None else "definition[%d]" % index
    error = validation.first_error(validation.api_version_error(obj.get("apiVersion"), where + ".apiVersion"),
                                   validation.kind_error(obj.get("kind"), where + ".kind"))
    if error:
        raise DefinitionError(error)
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise DefinitionError("%s.metadata must be a mapping" % where)
    error = dns1123_subdomain_error(meta.get("name"), "%s.metadata.name" % where)
    if error:
        raise DefinitionError(error)
    if namespaced:
        if not meta.get("namespace"):
            if not default_namespace:
                raise DefinitionError("namespace is required: set namespace, or metadata.namespace in %s" % where)
            meta["namespace"] = default_namespace
        error = dns1123_label_error(meta["namespace"], "%s.metadata.namespace" % where)
        if error:
            raise DefinitionError(error)
    error = validation.first_error(validation.labels_error(meta.get("labels"), "%s.metadata.labels" % where),
                                   validation.object_error(obj, where))
    if error:
        raise DefinitionError(error)
    return obj


def _apply_namespace(meta, namespace):
    """The namespace option on top of the definition: a different metadata.namespace is a conflict,
    not something to pick silently (either choice would write where one of the two did not mean)."""
    if not namespace:
        return
    error = dns1123_label_error(namespace, "namespace")
    if error:
        raise DefinitionError(error)
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise DefinitionError("namespace %r differs from definition.metadata.namespace %r; give one of them, "
                              "or make them equal" % (namespace, meta["namespace"]))
    meta["namespace"] = namespace


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _volume_claim_template(item, index):
    if "metadata" in item or "spec" in item:
        return copy.deepcopy(item)
    if not item.get("name"):
        raise DefinitionError("volume_claim_templates[%d].name is required" % index)
    error = dns1123_label_error(item["name"], "volume_claim_templates[%d].name" % index)
    if error:
        raise DefinitionError(error)
    if not item.get("size"):
        raise DefinitionError("volume_claim_templates[%d].size is required (for example 10Gi)" % index)
    error = validation.quantity_error(item["size"], "volume_claim_templates[%d].size" % index)
    if not error and item.get("storage_class"):
        error = dns1123_subdomain_error(item["storage_class"], "volume_claim_templates[%d].storage_class" % index)
    if error:
        raise DefinitionError(error)
    spec = {"accessModes": item.get("access_modes") or ["ReadWriteOnce"],
            "resources": {"requests": {"storage": str(item["size"])}}}
    if item.get("storage_class") is not None:
        spec["storageClassName"] = item["storage_class"]
    return {"metadata": {"name": item["name"]}, "spec": spec}


SHAPE_OPTIONS = ("image", "template", "volume_claim_templates", "service_name", "pod_management_policy",
                 "pvc_retention_policy", "update_strategy", "partition", "labels", "definition")


def is_scale_only(params):
    """Only replicas was given: apply nothing but spec.replicas (other fields keep their owners)."""
    return params.get("replicas") is not None and not any(params.get(o) is not None for o in SHAPE_OPTIONS)


def selector_is_derived(params):
    """True when no selector is given (no definition spec.selector): labels or the name make it up."""
    if is_scale_only(params):
        return False
    docs = load_definitions(params.get("definition"))
    return not (docs and isinstance(docs[0], dict) and (docs[0].get("spec") or {}).get("selector"))


def absent_claim_hints(params):
    """(selector, template names) from the options, to find the claims of a StatefulSet that is gone.

    The selector is the definition's spec.selector, else O(labels) (what the selector was made of when
    the StatefulSet was built from options); None when neither is given.
    """
    docs = load_definitions(params.get("definition"))
    spec = (docs[0].get("spec") or {}) if docs else {}
    selector = spec.get("selector") or ({"matchLabels": dict(params["labels"])} if params.get("labels") else None)
    templates = [((t.get("metadata") or {}).get("name") or t.get("name"))
                 for t in (params.get("volume_claim_templates") or spec.get("volumeClaimTemplates") or [])
                 if isinstance(t, dict)]
    return selector, [t for t in templates if t] or None


def build_statefulset(params, live_selector=None):
    """The StatefulSet manifest from module options (definition first, options on top).

    ``live_selector`` is the selector of the existing StatefulSet: without a selector in the definition
    it is kept (it cannot change), so ``labels`` only add labels to the StatefulSet once it exists.
    """
    docs = load_definitions(params.get("definition"))
    if len(docs) > 1:
        raise DefinitionError("definition must hold exactly one StatefulSet, got %d documents" % len(docs))
    obj = docs[0] if docs else {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {}}
    if obj.get("kind") != "StatefulSet":
        raise DefinitionError("definition.kind must be StatefulSet, got %r (use statefuldb.k8s.resource for "
                              "other kinds)" % obj.get("kind"))
    if obj.get("apiVersion") != "apps/v1":
        raise DefinitionError("definition.apiVersion must be apps/v1, got %r" % obj.get("apiVersion"))
    meta = obj.setdefault("metadata", {})
    if params.get("name"):
        if meta.get("name") and meta["name"] != params["name"]:
            raise DefinitionError("name %r differs from definition.metadata.name %r" % (params["name"], meta["name"]))
        meta["name"] = params["name"]
    _apply_namespace(meta, params.get("namespace"))
    error = dns1123_label_error(meta.get("name"), "name")
    if error:
        raise DefinitionError(error)
    check_object(obj, params.get("namespace"))
    name = meta["name"]
    if params.get("replicas") is not None and params["replicas"] < 0:
        raise DefinitionError("replicas must be 0 or more, got %d" % params["replicas"])
    error = validation.first_error(
        validation.image_error(params["image"], "image") if params.get("image") is not None else None,
        validation.labels_error(params.get("labels"), "labels"))
    if error:
        raise DefinitionError(error)

    if is_scale_only(params):
        return {"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": name, "namespace": meta["namespace"]},
                "spec": {"replicas": params["replicas"]}}

    spec = obj.setdefault("spec", {})
    labels = params.get("labels")
    if labels:
        meta.setdefault("labels", {}).update(labels)
    if live_selector and not spec.get("selector"):
        spec["selector"] = copy.deepcopy(live_selector)
    selector_labels = ((spec.get("selector") or {}).get("matchLabels")) or labels or {
        "app.kubernetes.io/name": name}
    spec.setdefault("selector", {"matchLabels": dict(selector_labels)})
    if params.get("replicas") is not None:
        spec["replicas"] = params["replicas"]
    if params.get("service_name"):
        spec["serviceName"] = params["service_name"]
    spec.setdefault("serviceName", name)
    error = dns1035_label_error(spec["serviceName"], "service_name")
    if error:
        raise DefinitionError(error)
    if params.get("pod_management_policy"):
        spec["podManagementPolicy"] = params["pod_management_policy"]
    if params.get("pvc_retention_policy"):
        spec["persistentVolumeClaimRetentionPolicy"] = dict(params["pvc_retention_policy"])
    if params.get("update_strategy") or params.get("partition") is not None:
        strategy = spec.setdefault("updateStrategy", {})
        strategy["type"] = params.get("update_strategy") or strategy.get("type") or "RollingUpdate"
        if params.get("partition") is not None:
            if strategy["type"] != "RollingUpdate":
                raise DefinitionError("partition only applies to update_strategy RollingUpdate")
            if params["partition"] < 0:
                raise DefinitionError("partition must be 0 or more, got %d" % params["partition"])
            strategy["rollingUpdate"] = {"partition": params["partition"]}
    if params.get("volume_claim_templates") is not None:
        spec["volumeClaimTemplates"] = [_volume_claim_template(t, i)
                                        for i, t in enumerate(params["volume_claim_templates"])]
    template = spec.get("template") or {}
    if params.get("template"):
        template = _merge(template, copy.deepcopy(params["template"]))
    if params.get("image"):
        pod_spec = template.setdefault("spec", {})
        containers = pod_spec.setdefault("containers", [])
        if containers:
            containers[0]["image"] = params["image"]
        else:
            container = {"name": name, "image": params["image"]}
            mounts = [{"name": t["name"], "mountPath": t["mount_path"]}
                      for t in params.get("volume_claim_templates") or [] if t.get("mount_path")]
            if mounts:
                container["volumeMounts"] = mounts
            containers.append(container)
    if template:
        template_labels = template.setdefault("metadata", {}).setdefault("labels", {})
        for key, value in spec["selector"].get("matchLabels", {}).items():
            template_labels.setdefault(key, value)
        spec["template"] = template
    if not (spec.get("template") or {}).get("spec", {}).get("containers"):
        raise DefinitionError("image (or template/definition with spec.template.spec.containers) is required to "
                              "describe the pods; to only scale, give name, namespace and replicas")
    error = validation.first_error(
        validation.replicas_error(spec.get("replicas", 1), "definition.spec.replicas"),
        validation.pod_spec_error(spec["template"].get("spec"), "definition.spec.template.spec"),
        validation.claim_templates_error(spec.get("volumeClaimTemplates"), "definition.spec.volumeClaimTemplates"))
    if error:
        raise DefinitionError(error)
    return obj


def build_headless_service(params):
    docs = load_definitions(params.get("definition"))
    if len(docs) > 1:
        raise DefinitionError("definition must hold exactly one Service, got %d documents" % len(docs))
    obj = docs[0] if docs else {"apiVersion": "v1", "kind": "Service", "metadata": {}}
    if obj.get("kind") != "Service" or obj.get("apiVersion") != "v1":
        raise DefinitionError("definition must be a v1 Service, got %s %s" % (obj.get("apiVersion"), obj.get("kind")))
    meta = obj.setdefault("metadata", {})
    if params.get("name"):
        if meta.get("name") and meta["name"] != params["name"]:
            raise DefinitionError("name %r differs from definition.metadata.name %r" % (params["name"], meta["name"]))
        meta["name"] = params["name"]
    error = dns1035_label_error(meta.get("name"), "name")
    if error:
        raise DefinitionError(error)
    _apply_namespace(meta, params.get("namespace"))
    check_object(obj, params.get("namespace"))
    error = validation.first_error(validation.labels_error(params.get("labels"), "labels"),
                                   validation.labels_error(params.get("selector"), "selector"))
    if error:
        raise DefinitionError(error)
    if params.get("labels"):
        meta.setdefault("labels", {}).update(params["labels"])
    spec = obj.setdefault("spec", {})
    if spec.get("clusterIP") not in (None, "None"):
        raise DefinitionError("definition.spec.clusterIP must be None for a headless Service, got %r"
                              % spec["clusterIP"])
    spec["clusterIP"] = "None"
    if params.get("selector"):
        spec["selector"] = dict(params["selector"])
    if not spec.get("selector"):
        raise DefinitionError("selector is required (the pod labels of the StatefulSet, e.g. "
                              "app.kubernetes.io/name: %s)" % meta["name"])
    if params.get("publish_not_ready_addresses") is not None:
        spec["publishNotReadyAddresses"] = params["publish_not_ready_addresses"]
    if params.get("ports"):
        ports = []
        for index, port in enumerate(params["ports"]):
            if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
                port = {"port": int(port)}
            if not isinstance(port, dict) or "port" not in port:
                raise DefinitionError("ports[%d] must be a port number or a dict with port" % index)
            error = validation.port_error(port["port"], "ports[%d].port" % index)
            if error:
                raise DefinitionError(error + " (a port name goes in name, a container port name in target_port)")
            entry = {"port": int(port["port"]), "protocol": port.get("protocol", "TCP")}
            if entry["protocol"] not in ("TCP", "UDP", "SCTP"):
                raise DefinitionError("ports[%d].protocol: %r is not one of TCP, UDP, SCTP" % (index, entry["protocol"]))
            if port.get("name"):
                error = validation.port_name_error(port["name"], "ports[%d].name" % index)
                if error:
                    raise DefinitionError(error)
                entry["name"] = port["name"]
            target = port.get("target_port", port.get("targetPort"))
            if target is not None:
                error = validation.target_port_error(target, "ports[%d].target_port" % index)
                if error:
                    raise DefinitionError(error)
                entry["targetPort"] = int(target) if str(target).isdigit() else target
            ports.append(entry)
        if len(ports) > 1 and not all(p.get("name") for p in ports):
            raise DefinitionError("ports: every port needs a name when there is more than one")
        spec["ports"] = ports
    return obj
