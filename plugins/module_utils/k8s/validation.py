# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of user input that the API server would refuse, run before the first request.

Each ``*_error(value, field)`` returns None when the value is fine, else one sentence that names
the field, shows the value and says what a valid one looks like. Nothing here talks to a cluster:
a mistake found here costs no request, so it is never retried and never half-applied.
"""
from __future__ import annotations

import re

from urllib.parse import urlsplit

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import dns1123_subdomain_error

# k8s.io/apimachinery resource.Quantity: a number, then a binary (Ki..Ei), decimal (n u m k M G T P E)
# or exponent (e3) suffix.
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")
API_VERSION = re.compile(r"^(([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                         r"v[0-9]+((alpha|beta)[0-9]+)?$")
KIND = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# IANA_SVC_NAME: what a port name (containerPort name, Service targetPort name) may be.
PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$|^[a-z]$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _shown(value):
    return "%r" % (value,)


def quantity_error(value, field, positive=True):
    """A Kubernetes quantity such as 10Gi, 512Mi, 500m or 1.5; bool and dicts are mistakes."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ("%s: %s is not a quantity; give a string such as 10Gi, 512Mi or 500m"
                % (field, _shown(value)))
    text = str(value).strip()
    match = QUANTITY.match(text)
    if not match:
        return ("%s: %s is not a Kubernetes quantity; use a number with an optional suffix, such as "
                "10Gi, 512Mi, 500m or 2 (binary Ki Mi Gi Ti Pi Ei, decimal k M G T P E)" % (field, _shown(value)))
    if positive and (text.startswith("-") or float(match.group(1)) == 0):
        return "%s: %s must be greater than zero (for example 1Gi)" % (field, _shown(value))
    return None


def port_error(value, field):
    """A TCP/UDP port number 1-65535 (an int, or a string of digits from a template)."""
    if isinstance(value, bool):
        return "%s: %s is not a port number; give a number from 1 to 65535" % (field, _shown(value))
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int):
        return "%s: %s is not a port number; give a number from 1 to 65535" % (field, _shown(value))
    if not 0 < value < 65536:
        return "%s: port %d is out of range; give a number from 1 to 65535" % (field, value)
    return None


def port_name_error(value, field):
    """A named port (IANA_SVC_NAME): at most 15 lowercase letters, digits and '-', with a letter."""
    if not isinstance(value, str) or not value:
        return "%s is required" % field
    if len(value) > 15 or not PORT_NAME.match(value) or not re.search(r"[a-z]", value):
        return ("%s: %s is not a valid port name (at most 15 lowercase letters, digits and single '-', "
                "at least one letter, such as mysql or http)" % (field, _shown(value)))
    return None


def target_port_error(value, field):
    """A Service targetPort: a port number or the name of a container port."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return port_error(value, field)
    return port_name_error(value, field)


def api_version_error(value, field):
    if value is None or value == "":
        return "%s is required (for example apps/v1)" % field
    if not isinstance(value, str) or not API_VERSION.match(value):
        return ("%s: %s is not an apiVersion; give v1 or group/version such as apps/v1"
                % (field, _shown(value)))
    return None


def kind_error(value, field):
    if value is None or value == "":
        return "%s is required (for example StatefulSet)" % field
    if not isinstance(value, str) or not KIND.match(value):
        return ("%s: %s is not a kind; give the CamelCase type name as a string, such as StatefulSet"
                % (field, _shown(value)))
    return None


def image_error(value, field):
    if not isinstance(value, str) or not value.strip():
        return ("%s: %s is not an image reference; give a string such as mariadb:10.11 or "
                "registry.example.com/team/db:1.2" % (field, _shown(value)))
    if re.search(r"\s", value):
        return "%s: %s contains whitespace; an image reference has none" % (field, _shown(value))
    return None


def replicas_error(value, field, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int):
        return "%s: %s is not a whole number" % (field, _shown(value))
    if value < minimum:
        return "%s must be %d or more, got %d" % (field, minimum, value)
    return None


def label_key_error(key, field):
    if not isinstance(key, str) or not key:
        return "%s: label keys must be non-empty strings, got %s" % (field, _shown(key))
    prefix, dummy, name = key.rpartition("/")
    if prefix and dns1123_subdomain_error(prefix, field):
        return ("%s: label key %s has an invalid prefix (a DNS subdomain such as example.com)"
                % (field, _shown(key)))
    if len(name) > 63 or not LABEL_NAME.match(name):
        return ("%s: %s is not a valid label key (at most 63 letters, digits, '-', '_' and '.', starting "
                "and ending with a letter or digit, optionally prefixed with a DNS subdomain and '/')"
                % (field, _shown(key)))
    return None


def labels_error(labels, field):
    """Label keys and values; values must be strings (quote numbers and booleans in YAML)."""
    if labels is None:
        return None
    if not isinstance(labels, dict):
        return "%s must be a mapping of label keys to string values" % field
    for key, value in labels.items():
        error = label_key_error(key, field)
        if error:
            return error
        if not isinstance(value, str):
            return ("%s.%s: %s is not a string; label values are strings (quote it in YAML)"
                    % (field, key, _shown(value)))
        if len(value) > 63 or not LABEL_VALUE.match(value):
            return ("%s.%s: %s is not a valid label value (at most 63 letters, digits, '-', '_' and '.', "
                    "starting and ending with a letter or digit)" % (field, key, _shown(value)))
    return None


def url_error(value, field, schemes=("https", "http")):
    """An absolute http(s) URL with a host: what every HTTP client needs before it can connect."""
    if not isinstance(value, str) or not value.strip():
        return "%s is required (a URL such as https://203.0.113.10:6443)" % field
    if re.search(r"\s", value):
        return "%s: %s contains whitespace; give a URL such as https://203.0.113.10:6443" % (field, _shown(value))
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        return ("%s: %s has no %s scheme; give a full URL such as %s://%s"
                % (field, _shown(value), " or ".join(schemes), schemes[0],
                   value.split("://", 1)[-1] or "host:port"))
    try:
        port = parts.port
    except ValueError:
        return "%s: %s has an invalid port; ports are 1-65535" % (field, _shown(value))
    if not parts.hostname:
        return "%s: %s has no host name; give a URL such as %s://host:port" % (field, _shown(value), schemes[0])
    if port is not None and not 0 < port < 65536:
        return "%s: %s has an invalid port; ports are 1-65535" % (field, _shown(value))
    return None


def first_error(*errors):
    """The first of several checks that failed, or None."""
    for error in errors:
        if error:
            return error
    return None


def pod_spec_error(pod_spec, field):
    """Quantities and ports of every container; the server would answer 422 or, for some
    quantities, a 500 that looks retryable."""
    if not isinstance(pod_spec, dict):
        return None
    for group in ("initContainers", "containers"):
        containers = pod_spec.get(group) or []
        if not isinstance(containers, list):
            return "%s.%s must be a list of containers" % (field, group)
        for index, container in enumerate(containers):
            where = "%s.%s[%d]" % (field, group, index)
            if not isinstance(container, dict):
                return "%s must be a mapping" % where
            if group == "containers" or "image" in container:
                error = image_error(container.get("image"), where + ".image")
                if error:
                    return error
            resources = container.get("resources") or {}
            if not isinstance(resources, dict):
                return "%s.resources must be a mapping with requests and limits" % where
            for section in ("requests", "limits"):
                for name, amount in (resources.get(section) or {}).items():
                    error = quantity_error(amount, "%s.resources.%s.%s" % (where, section, name), positive=False)
                    if error:
                        return error
            for port_index, port in enumerate(container.get("ports") or []):
                if isinstance(port, dict):
                    error = port_error(port.get("containerPort"), "%s.ports[%d].containerPort" % (where, port_index))
                    if not error and port.get("name") is not None:
                        error = port_name_error(port["name"], "%s.ports[%d].name" % (where, port_index))
                    if error:
                        return error
    return None


def claim_templates_error(templates, field):
    """Storage sizes and class names of volumeClaimTemplates given as manifests."""
    for index, template in enumerate(templates or []):
        if not isinstance(template, dict):
            return "%s[%d] must be a mapping" % (field, index)
        error = _claim_error(template, "%s[%d]" % (field, index))
        if error:
            return error
    return None


def object_error(obj, where="definition"):
    """Kind-specific checks of a manifest given to the generic resource module."""
    kind = obj.get("kind")
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if kind == "PersistentVolumeClaim":
        return _claim_error(obj, where)
    if kind == "Pod":
        return pod_spec_error(spec, where + ".spec")
    if kind in ("StatefulSet", "Deployment", "ReplicaSet", "Job", "DaemonSet"):
        template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
        return first_error(
            replicas_error(spec["replicas"], where + ".spec.replicas") if "replicas" in spec else None,
            pod_spec_error(template.get("spec"), where + ".spec.template.spec"),
            claim_templates_error(spec.get("volumeClaimTemplates"), where + ".spec.volumeClaimTemplates"))
    if kind == "Service":
        for index, port in enumerate(spec.get("ports") or []):
            if isinstance(port, dict):
                error = first_error(
                    port_error(port.get("port"), "%s.spec.ports[%d].port" % (where, index)),
                    target_port_error(port["targetPort"], "%s.spec.ports[%d].targetPort" % (where, index))
                    if "targetPort" in port else None)
                if error:
                    return error
    return None


def _claim_error(obj, where):
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    return first_error(
        quantity_error(storage, where + ".spec.resources.requests.storage") if storage is not None else None,
        dns1123_subdomain_error(spec["storageClassName"], where + ".spec.storageClassName")
        if spec.get("storageClassName") else None)
