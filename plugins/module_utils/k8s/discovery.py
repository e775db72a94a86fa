# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stable identities of a StatefulSet's pods: ordinals, DNS names, EndpointSlices, PVC names."""
from __future__ import annotations

import re

# Label a pod carries when it is the primary of its StatefulSet (set by the mysql_cluster role).
ROLE_LABEL = "statefuldb.io/role"

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def dns1123_label_error(value, field):
    """None when ``value`` is a valid DNS-1123 label, else a message naming ``field``."""
    if not isinstance(value, str) or not value:
        return "%s is required" % field
    if len(value) > 63 or not DNS1123_LABEL.match(value):
        return ("%s: %r is not a valid DNS-1123 label (at most 63 characters: lowercase letters, digits and "
                "'-', starting and ending with a letter or digit)" % (field, value))
    return None


def dns1123_subdomain_error(value, field):
    if not isinstance(value, str) or not value:
        return "%s is required" % field
    if len(value) > 253 or not DNS1123_SUBDOMAIN.match(value):
        return ("%s: %r is not a valid DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253 "
                "characters, starting and ending with a letter or digit)" % (field, value))
    return None


def dns1035_label_error(value, field):
    if not isinstance(value, str) or not value:
        return "%s is required" % field
    if len(value) > 63 or not DNS1035_LABEL.match(value):
        return ("%s: %r is not a valid Service name (DNS-1035 label: at most 63 characters, lowercase letters, "
                "digits and '-', starting with a letter)" % (field, value))
    return None


def pod_ordinal(pod_name, statefulset_name):
    """The ordinal of ``{statefulset_name}-{n}``, or None when the pod is not one of its pods."""
    prefix = statefulset_name + "-"
    if not pod_name or not pod_name.startswith(prefix):
        return None
    tail = pod_name[len(prefix):]
    return int(tail) if tail.isdigit() else None


def ordinal_range(statefulset):
    """The ordinals the StatefulSet should have: start .. start + replicas - 1."""
    spec = statefulset.get("spec") or {}
    replicas = spec.get("replicas", 1)
    start = ((spec.get("ordinals") or {}).get("start")) or 0
    return range(start, start + (replicas if replicas is not None else 1))


def pod_dns_name(pod_name, service, namespace, cluster_domain="cluster.local"):
    return "%s.%s.%s.svc.%s" % (pod_name, service, namespace, cluster_domain)


def pvc_name(template_name, statefulset_name, ordinal):
    return "%s-%s-%d" % (template_name, statefulset_name, ordinal)


def pvc_names(statefulset, ordinal):
    name = statefulset["metadata"]["name"]
    return [pvc_name(t["metadata"]["name"], name, ordinal)
            for t in (statefulset.get("spec") or {}).get("volumeClaimTemplates") or []]


def pvc_ordinal(claim_name, statefulset):
    """Ordinal of a PVC created from one of the StatefulSet's templates, or None."""
    name = statefulset["metadata"]["name"]
    for template in (statefulset.get("spec") or {}).get("volumeClaimTemplates") or []:
        prefix = "%s-%s-" % (template["metadata"]["name"], name)
        if claim_name.startswith(prefix) and claim_name[len(prefix):].isdigit():
            return int(claim_name[len(prefix):])
    return None


def selector_string(label_selector):
    """A LabelSelector dict (matchLabels / matchExpressions) as a query string."""
    parts = ["%s=%s" % (k, v) for k, v in sorted(((label_selector or {}).get("matchLabels") or {}).items())]
    for expr in (label_selector or {}).get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In":
            parts.append("%s in (%s)" % (key, ",".join(values)))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (key, ",".join(values)))
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


def endpoints_from_slices(slices):
    """{pod name: {"ip", "ready"}} from EndpointSlices (targetRef or hostname names the pod)."""
    found = {}
    for endpoint_slice in slices or []:
        for endpoint in endpoint_slice.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            name = ref.get("name") if ref.get("kind", "Pod") == "Pod" else None
            name = name or endpoint.get("hostname")
            if not name:
                continue
            conditions = endpoint.get("conditions") or {}
            addresses = endpoint.get("addresses") or []
            found[name] = {"ip": addresses[0] if addresses else None,
                           "ready": conditions.get("ready") is not False}
    return found


def service_pods(slices, service, namespace, cluster_domain="cluster.local", statefulset_name=None):
    """The pods behind a headless Service, sorted by ordinal: name, ordinal, ip, ready, dns_name."""
    pods = []
    for name, info in endpoints_from_slices(slices).items():
        ordinal = pod_ordinal(name, statefulset_name) if statefulset_name else _trailing_ordinal(name)
        pods.append({"name": name, "ordinal": ordinal, "ip": info["ip"], "ready": info["ready"],
                     "dns_name": pod_dns_name(name, service, namespace, cluster_domain)})
    pods.sort(key=lambda p: (p["ordinal"] is None, p["ordinal"] if p["ordinal"] is not None else 0, p["name"]))
    return pods


def _trailing_ordinal(name):
    head, _sep, tail = name.rpartition("-")
    return int(tail) if head and tail.isdigit() else None


def is_headless(service):
    return ((service or {}).get("spec") or {}).get("clusterIP") == "None"


class DiscoveryError(Exception):
    """The StatefulSet/Service pair cannot give stable DNS names; the message says why."""

    @property
    def msg(self):
        return str(self)


def describe_statefulset(client, name, namespace, service=None, cluster_domain="cluster.local"):
    """Ordinals, pods, readiness, IPs, DNS names and PVCs of a StatefulSet (read-only).

    Fails (DiscoveryError) when the governing Service is not headless, or when ``service`` is given
    and is not the StatefulSet's serviceName: the DNS names would not resolve.
    """
    sts = client.get("apps/v1", "StatefulSet", name, namespace)
    if sts is None:
        raise DiscoveryError("StatefulSet %s/%s does not exist" % (namespace, name))
    service_name = (sts.get("spec") or {}).get("serviceName")
    if service and service != service_name:
        raise DiscoveryError("service: StatefulSet %s/%s is governed by Service %r (spec.serviceName), not %r; pod "
                             "DNS names only exist under the governing Service" % (namespace, name, service_name,
                                                                                   service))
    warnings = []
    svc = client.get("v1", "Service", service_name, namespace) if service_name else None
    if svc is None:
        if service:
            raise DiscoveryError("service: Service %s/%s does not exist" % (namespace, service))
        warnings.append("the governing Service %r does not exist, so the pods' DNS names do not resolve yet"
                        % service_name)
    elif not is_headless(svc):
        raise DiscoveryError("Service %s/%s is not headless (clusterIP %s); pod DNS names need clusterIP: None "
                             "(statefuldb.k8s.headless_service with recreate: orphan converts it)"
                             % (namespace, service_name, (svc.get("spec") or {}).get("clusterIP")))
    selector = selector_string((sts.get("spec") or {}).get("selector"))
    pods = client.list("v1", "Pod", namespace, label_selector=selector).get("items") or []
    claims = client.list("v1", "PersistentVolumeClaim", namespace).get("items") or []
    claims_by_ordinal = {}
    for claim in claims:
        ordinal = pvc_ordinal(claim["metadata"]["name"], sts)
        if ordinal is None:
            continue
        status = claim.get("status") or {}
        claims_by_ordinal.setdefault(ordinal, []).append({
            "name": claim["metadata"]["name"], "uid": claim["metadata"].get("uid"),
            "phase": status.get("phase"), "capacity": (status.get("capacity") or {}).get("storage"),
            "volume": (claim.get("spec") or {}).get("volumeName")})
    start = (((sts.get("spec") or {}).get("ordinals") or {}).get("start")) or 0
    # The primary is the pod labelled so (the mysql_cluster role records it); a StatefulSet whose
    # pods carry no such label has its first ordinal as primary.
    labelled = [p["metadata"]["name"] for p in pods
                if ((p["metadata"].get("labels") or {}).get(ROLE_LABEL)) == "primary"]
    entries = []
    for pod in pods:
        ordinal = pod_ordinal(pod["metadata"]["name"], name)
        if ordinal is None:
            continue
        status = pod.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        entries.append({
            "ordinal": ordinal, "name": pod["metadata"]["name"], "phase": status.get("phase"), "ready": ready,
            "ip": status.get("podIP"), "node": (pod.get("spec") or {}).get("nodeName"),
            "dns_name": pod_dns_name(pod["metadata"]["name"], service_name, namespace, cluster_domain),
            "primary": pod["metadata"]["name"] in labelled if labelled else ordinal == start, "terminating": bool(pod["metadata"].get("deletionTimestamp")),
            "pvcs": sorted(claims_by_ordinal.get(ordinal, []), key=lambda c: c["name"])})
    entries.sort(key=lambda e: e["ordinal"])
    status = sts.get("status") or {}
    primary = next((e for e in entries if e["primary"]), None)
    return {
        "statefulset": sts, "service_name": service_name,
        "replicas": (sts.get("spec") or {}).get("replicas", 1), "ready_replicas": status.get("readyReplicas", 0),
        "pods": entries, "primary": primary,
        "pvcs_without_pod": sorted(c["name"] for o, cs in claims_by_ordinal.items() for c in cs
                                   if o not in {e["ordinal"] for e in entries}),
        "warnings": warnings,
    }
