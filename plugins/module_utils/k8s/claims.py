# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A StatefulSet's PVCs: find them (live or after a teardown), grow them, and wait for them to go."""
from __future__ import annotations

import re
import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import vct_essentials
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError, K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    ordinal_range,
    pvc_ordinal,
    selector_string,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.quantity import quantity_bytes


def storage_growth(desired, current):
    """[(template name, live size, wanted size)] when the only template change is a larger request.

    None when the templates differ in anything else (names, access modes, class, a smaller size).
    """
    wanted = vct_essentials((desired.get("spec") or {}).get("volumeClaimTemplates"))
    live = vct_essentials((current.get("spec") or {}).get("volumeClaimTemplates"))
    if len(wanted) != len(live):
        return None
    grown = []
    raw_wanted = (desired.get("spec") or {}).get("volumeClaimTemplates") or []
    raw_live = (current.get("spec") or {}).get("volumeClaimTemplates") or []
    for w, lv, rw, rl in zip(wanted, live, raw_wanted, raw_live):
        if w["name"] != lv["name"]:
            return None
        if w["accessModes"] is not None and w["accessModes"] != lv["accessModes"]:
            return None
        if w["storageClassName"] is not None and w["storageClassName"] != lv["storageClassName"]:
            return None
        if w["storage"] != lv["storage"]:
            if not isinstance(w["storage"], int) or not isinstance(lv["storage"], int) or w["storage"] < lv["storage"]:
                return None
            grown.append((w["name"], rl["spec"]["resources"]["requests"]["storage"],
                          rw["spec"]["resources"]["requests"]["storage"]))
    return grown


def claims_of(client, sts):
    """The StatefulSet's PVCs (any ordinal), by template-derived name."""
    selector = selector_string(sts["spec"].get("selector"))
    items = client.list("v1", "PersistentVolumeClaim", sts["metadata"]["namespace"],
                        label_selector=selector).get("items") or []
    if not items:  # claims created by older controllers may lack labels
        items = client.list("v1", "PersistentVolumeClaim", sts["metadata"]["namespace"]).get("items") or []
    return [c for c in items if pvc_ordinal(c["metadata"]["name"], sts) is not None]


def expand_claims(client, desired, current, check_mode):
    """Grow each existing PVC of the grown templates; error (nothing written) if a class forbids it."""
    grown = storage_growth(desired, current)
    if not grown:
        return []
    sizes = {name: wanted for name, _live, wanted in grown}
    plan = []
    classes = {}
    for claim in claims_of(client, current):
        template = next((t for t in sizes if claim["metadata"]["name"].startswith(t + "-")), None)
        if template is None:
            continue
        have = ((claim.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
        if quantity_bytes(have) is not None and quantity_bytes(have) >= quantity_bytes(sizes[template]):
            continue
        class_name = (claim.get("spec") or {}).get("storageClassName")
        if class_name not in classes:
            classes[class_name] = client.get("storage.k8s.io/v1", "StorageClass", class_name) if class_name else None
        storage_class = classes[class_name]
        if not storage_class or not storage_class.get("allowVolumeExpansion"):
            raise K8sError(
                "volumeClaimTemplates: PVC %s cannot grow from %s to %s: its StorageClass %r %s. Nothing was "
                "changed; keep the old size, or move the data to a StorageClass with allowVolumeExpansion: true"
                % (claim["metadata"]["name"], have, sizes[template], class_name,
                   "does not exist" if not storage_class else "does not allow volume expansion "
                   "(allowVolumeExpansion is not true)"))
        plan.append((claim["metadata"]["name"], sizes[template]))
    for name, size in plan:
        client.patch("v1", "PersistentVolumeClaim", name, current["metadata"]["namespace"],
                     {"spec": {"resources": {"requests": {"storage": size}}}}, dry_run=check_mode)
    return [{"name": name, "storage": size} for name, size in plan]


def kept_claims(client, sts):
    """Names of PVCs whose ordinal is outside the StatefulSet's current ordinals (kept on scale-in)."""
    wanted = ordinal_range(sts)
    return sorted(c["metadata"]["name"] for c in claims_of(client, sts)
                  if pvc_ordinal(c["metadata"]["name"], sts) not in wanted and not terminating(c))


def terminating(obj):
    """Whether the object is being deleted (a deletionTimestamp is set)."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def retention_policy(sts):
    """(whenDeleted, whenScaled) of the StatefulSet; Retain when unset (the API's default)."""
    policy = ((sts or {}).get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or "Retain", policy.get("whenScaled") or "Retain"


def claims_left_by(client, name, namespace, selector=None, templates=None):
    """Claims of a StatefulSet that no longer exists.

    Named ``{template}-{name}-{ordinal}`` (the controller's pattern), carrying the selector's labels when
    the selector is known (the controller copies them onto each claim), of the given templates when
    known, and never a claim that a StatefulSet which still exists would use.
    """
    items = client.list("v1", "PersistentVolumeClaim", namespace,
                        label_selector=selector_string(selector) if selector else None).get("items") or []
    pattern = re.compile(r"^(?P<template>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-%s-(?P<ordinal>[0-9]+)$" % re.escape(name))
    candidates = []
    for claim in items:
        match = pattern.match(claim["metadata"]["name"])
        if match and (not templates or match.group("template") in templates):
            candidates.append(claim)
    if not candidates:
        return []
    others = [sts for sts in client.list("apps/v1", "StatefulSet", namespace).get("items") or []
              if sts["metadata"]["name"] != name]
    return [c for c in candidates
            if not any(pvc_ordinal(c["metadata"]["name"], other) is not None for other in others)]


def _existing_claims(client, namespace, names):
    listing = client.list("v1", "PersistentVolumeClaim", namespace)
    present = {c["metadata"]["name"]: c for c in listing.get("items") or [] if c["metadata"]["name"] in names}
    return present, (listing.get("metadata") or {}).get("resourceVersion")


def wait_claims_gone(client, namespace, names, timeout):
    """Watch until none of the claims ``names`` exists; returns {name: claim} of those still there."""
    deadline = time.monotonic() + max(0.0, timeout)
    present, resource_version = _existing_claims(client, namespace, set(names))
    while present and time.monotonic() < deadline:
        try:
            stream = client.watch("v1", "PersistentVolumeClaim", namespace, resource_version=resource_version,
                                  timeout_seconds=max(1, int(deadline - time.monotonic())))
            try:
                for event in stream:
                    obj = event.get("object") or {}
                    resource_version = (obj.get("metadata") or {}).get("resourceVersion") or resource_version
                    claim_name = (obj.get("metadata") or {}).get("name")
                    if event.get("type") == "DELETED":
                        present.pop(claim_name, None)
                    elif claim_name in present and event.get("type") == "MODIFIED":
                        present[claim_name] = obj
                    if not present or time.monotonic() >= deadline:
                        break
            finally:
                close = getattr(stream, "close", None)
                if close:
                    close()
        except K8sApiError as exc:
            if exc.status != 410:
                raise
            present, resource_version = _existing_claims(client, namespace, set(names))
    return present
