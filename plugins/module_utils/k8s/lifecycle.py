# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""StatefulSet lifecycle decisions: apply/scale, re-create with orphaned pods, claim expansion, teardown.

Data is never deleted unless asked: scale-in and teardown keep PVCs (returned as pvcs_kept);
only ``delete_pvcs`` with state absent removes them, after the pods are gone, and also when the
StatefulSet itself was deleted by an earlier teardown (its claims are found by name and labels).
``pvcs_kept`` reports the claims that still exist: a persistentVolumeClaimRetentionPolicy of Delete
lets the controller remove claims, and that is reported (and warned about), not hidden.
"""
from __future__ import annotations

import re
import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import (
    NOT_READ,
    ImmutableFieldError,
    _vct_essentials,
    apply_object,
    make_diff,
    result_view,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError, K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import (
    build_statefulset,
    selector_is_derived,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    ordinal_range,
    pvc_ordinal,
    selector_string,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.quantity import quantity_bytes
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.rollout import (
    RolloutWaiter,
    build_timeline,
    pod_state,
    statefulset_status_ready,
)

SCALE_MANAGER_SUFFIX = "-scale"


def own_managers(params):
    """Our field managers: the full apply's and the replicas-only one's (they never conflict for real)."""
    return {params["field_manager"], params["field_manager"] + SCALE_MANAGER_SUFFIX}


class Outcome:
    """What the module returns, filled step by step."""

    def __init__(self):
        self.changed = False
        self.statefulset = None
        self.diff = {"before": {}, "after": {}}
        self.timeline = []
        self.wait_seconds = 0.0
        self.pvcs_kept = []
        self.pvcs_expanded = []
        self.pvcs_deleted = []
        self.warnings = []
        self.recreated = False
        self.watch_resumes = 0

    def as_dict(self):
        return {"changed": self.changed, "statefulset": result_view(self.statefulset) or {},
                "timeline": self.timeline, "wait_seconds": self.wait_seconds, "pvcs_kept": self.pvcs_kept,
                "pvcs_expanded": self.pvcs_expanded, "pvcs_deleted": self.pvcs_deleted,
                "recreated": self.recreated, "watch_resumes": self.watch_resumes}


def storage_growth(desired, current):
    """[(template name, live size, wanted size)] when the only template change is a larger request.

    None when the templates differ in anything else (names, access modes, class, a smaller size).
    """
    wanted = _vct_essentials((desired.get("spec") or {}).get("volumeClaimTemplates"))
    live = _vct_essentials((current.get("spec") or {}).get("volumeClaimTemplates"))
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
                  if pvc_ordinal(c["metadata"]["name"], sts) not in wanted and not _terminating(c))


def _terminating(obj):
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


def _remaining_seconds(params, started):
    return max(1.0, params["wait_timeout"] - (time.monotonic() - started))


def _wait(client, outcome, sts, wait_timeout, stall_timeout, log, until="ready"):
    waiter = RolloutWaiter(client, sts["metadata"]["namespace"], sts["metadata"]["name"],
                           wait_timeout=wait_timeout, stall_timeout=stall_timeout, log=log)
    result = waiter.wait(until)
    outcome.timeline = result.timeline or outcome.timeline
    outcome.wait_seconds = round(outcome.wait_seconds + result.wait_seconds, 3)
    outcome.warnings.extend(result.warnings)
    outcome.watch_resumes += getattr(result, "watch_resumes", 0)
    outcome.warnings.extend("OrderedReady order not kept: %s" % p for p in result.order_problems)
    if result.statefulset is not None:
        outcome.statefulset = result.statefulset
    return result


def ensure_present(client, desired, params, check_mode, log=None):
    outcome = Outcome()
    started = time.monotonic()
    name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
    scale_only = set((desired.get("spec") or {}).keys()) == {"replicas"}
    manager = params["field_manager"] + (SCALE_MANAGER_SUFFIX if scale_only else "")
    live = NOT_READ
    if not scale_only and selector_is_derived(params):
        # The selector cannot change: once the StatefulSet exists, keep its selector (labels only add).
        live = client.get("apps/v1", "StatefulSet", name, namespace)
        if live is not None and (live.get("spec") or {}).get("selector"):
            desired = build_statefulset(params, live_selector=live["spec"]["selector"])
    try:
        applied = apply_object(client, desired, field_manager=manager, force=params["force"], check_mode=check_mode,
                               current=live, allies=own_managers(params) - {manager})
    except ImmutableFieldError as exc:
        if scale_only:
            raise
        if params.get("recreate") != "orphan":
            growth = storage_growth(desired, exc.current) if exc.current else None
            hint = ""
            if growth:
                hint = (" The only template change is a larger storage request (%s): with recreate: orphan each "
                        "existing PVC is expanded first (when its StorageClass allows expansion) and the "
                        "StatefulSet is re-created with the new template."
                        % ", ".join("%s %s -> %s" % g for g in growth))
            raise ImmutableFieldError(exc.msg + "." + hint, exc.fields, exc.current)
        return recreate_orphan(client, desired, exc.current, params, check_mode, outcome, log)
    except K8sError as exc:
        if scale_only and exc.status in (404, 422):
            missing = client.get("apps/v1", "StatefulSet", name, namespace) is None
            if missing:
                raise K8sError("StatefulSet %s/%s does not exist: replicas alone cannot create it; give image, "
                               "template or definition" % (namespace, name))
        raise
    outcome.changed = applied.changed
    outcome.statefulset = applied.after
    if applied.changed:
        outcome.diff = applied.diff()
    before_replicas = ((applied.before or {}).get("spec") or {}).get("replicas")
    after_replicas = ((applied.after or {}).get("spec") or {}).get("replicas", 1)
    if params.get("wait") and not check_mode:
        if not applied.changed and statefulset_status_ready(applied.after)[0]:
            # Already ready and untouched: one list for the timeline instead of opening watches.
            pods = client.list("v1", "Pod", namespace,
                               label_selector=selector_string(applied.after["spec"]["selector"]))
            outcome.timeline = build_timeline(name, {p["metadata"]["name"]: pod_state(p)
                                                     for p in pods.get("items") or []})
        else:
            _wait(client, outcome, applied.after, params["wait_timeout"], params["stall_timeout"], log)
    if before_replicas is not None and after_replicas < before_replicas:
        _scaled_in_claims(client, outcome, applied, params, check_mode, started)
    return outcome


def _scaled_in_claims(client, outcome, applied, params, check_mode, started):
    """pvcs_kept / pvcs_deleted after a scale-in: what the cluster did, under its retention policy."""
    removed = sorted(c["metadata"]["name"] for c in claims_of(client, applied.before)
                     if pvc_ordinal(c["metadata"]["name"], applied.before) not in ordinal_range(applied.after))
    policy_deletes = retention_policy(applied.after)[1] == "Delete"
    if policy_deletes and removed:
        outcome.warnings.append(
            "persistentVolumeClaimRetentionPolicy.whenScaled is Delete: the StatefulSet controller deletes the "
            "claims of removed ordinals (%s) and their data; set whenScaled: Retain to keep them"
            % ", ".join(removed))
    if check_mode:
        outcome.pvcs_deleted = removed if policy_deletes else []
        outcome.pvcs_kept = [] if policy_deletes else removed
        return
    if policy_deletes and removed and params.get("wait"):
        wait_claims_gone(client, applied.after["metadata"]["namespace"], removed, _remaining_seconds(params, started))
    kept = kept_claims(client, outcome.statefulset)
    if policy_deletes and not params.get("wait"):
        kept = [c for c in kept if c not in removed]  # being deleted by the controller (see the warning)
    outcome.pvcs_kept = kept
    outcome.pvcs_deleted = sorted(set(removed) - set(kept))


def recreate_orphan(client, desired, current, params, check_mode, outcome, log=None):
    """Delete with propagationPolicy=Orphan (pods and PVCs stay), expand claims, create again."""
    name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
    outcome.pvcs_expanded = expand_claims(client, desired, current, check_mode)
    outcome.changed = True
    outcome.recreated = True
    if check_mode:
        client.delete("apps/v1", "StatefulSet", name, namespace, propagation_policy="Orphan", dry_run=True)
        outcome.statefulset = current
        outcome.diff = make_diff(current, desired)
        return outcome
    client.delete("apps/v1", "StatefulSet", name, namespace, propagation_policy="Orphan")
    gone = RolloutWaiter(client, namespace, name, wait_timeout=params["wait_timeout"], stall_timeout=0, log=log)
    gone.wait("gone")
    applied = apply_object(client, desired, field_manager=params["field_manager"], force=params["force"],
                           allies=own_managers(params) - {params["field_manager"]})
    outcome.statefulset = applied.after
    outcome.diff = make_diff(current, applied.after)
    if params.get("wait"):
        _wait(client, outcome, applied.after, params["wait_timeout"], params["stall_timeout"], log)
    return outcome


def ensure_absent(client, name, namespace, params, check_mode, log=None, selector=None, templates=None):
    """Delete the StatefulSet; with wait, scale to 0 first so pods go in reverse ordinal order.

    ``selector`` / ``templates`` narrow the claims found when the StatefulSet is already gone.
    """
    outcome = Outcome()
    started = time.monotonic()
    current = client.get("apps/v1", "StatefulSet", name, namespace)
    if current is None:
        claims = claims_left_by(client, name, namespace, selector, templates)
        return _settle_claims(client, outcome, namespace, claims, params, check_mode, started, policy_deletes=False)
    outcome.changed = True
    outcome.diff = {"before": make_diff(current, None)["before"], "after": {}}
    outcome.statefulset = current
    claims = claims_of(client, current)
    policy_deletes = retention_policy(current)[0] == "Delete"
    if check_mode:
        client.delete("apps/v1", "StatefulSet", name, namespace, dry_run=True)
        return _settle_claims(client, outcome, namespace, claims, params, check_mode, started, policy_deletes)
    if params.get("wait") and (current["spec"].get("replicas") or (current.get("status") or {}).get("replicas")):
        scale = {"apiVersion": "apps/v1", "kind": "StatefulSet",
                 "metadata": {"name": name, "namespace": namespace}, "spec": {"replicas": 0}}
        # Forced: the StatefulSet is being deleted as asked, whoever set its replicas.
        apply_object(client, scale, field_manager=params["field_manager"] + SCALE_MANAGER_SUFFIX, force=True)
        # Keep the timeline of the pods going away (created/ready times of what existed).
        pods = client.list("v1", "Pod", namespace, label_selector=selector_string(current["spec"]["selector"]))
        outcome.timeline = build_timeline(name, {p["metadata"]["name"]: pod_state(p) for p in pods.get("items") or []})
        _wait(client, outcome, current, params["wait_timeout"], params["stall_timeout"], log, until="deleted-pods")
    client.delete("apps/v1", "StatefulSet", name, namespace, propagation_policy="Background")
    if params.get("wait") or params.get("delete_pvcs"):
        RolloutWaiter(client, namespace, name, wait_timeout=params["wait_timeout"], stall_timeout=0,
                      log=log).wait("deleted" if params.get("delete_pvcs") else "gone")
    outcome.statefulset = {}
    return _settle_claims(client, outcome, namespace, claims, params, check_mode, started, policy_deletes)


def _settle_claims(client, outcome, namespace, claims, params, check_mode, started, policy_deletes):
    """Delete the claims when asked, wait for them to go, and report the claims that still exist."""
    names = sorted(c["metadata"]["name"] for c in claims)
    if policy_deletes and names and not params.get("delete_pvcs"):
        outcome.warnings.append(
            "persistentVolumeClaimRetentionPolicy.whenDeleted is Delete: the StatefulSet controller deletes its "
            "claims (%s) and their data with it; set whenDeleted: Retain to keep them" % ", ".join(names))
    if check_mode:
        doomed = params.get("delete_pvcs") or policy_deletes
        outcome.pvcs_deleted = names if doomed else []
        outcome.pvcs_kept = [] if doomed else names
        outcome.changed = outcome.changed or bool(params.get("delete_pvcs") and names)
        return outcome
    if params.get("delete_pvcs"):
        for claim in names:
            client.delete("v1", "PersistentVolumeClaim", claim, namespace)
        outcome.changed = outcome.changed or bool(names)
    if not names or not (params.get("delete_pvcs") or policy_deletes):
        outcome.pvcs_kept = sorted(c["metadata"]["name"] for c in claims if not _terminating(c))
        return outcome
    if not params.get("wait"):
        outcome.pvcs_deleted = names  # deletion in progress, not awaited
        return outcome
    left = wait_claims_gone(client, namespace, names, _remaining_seconds(params, started))
    if left:
        outcome.warnings.append("claims %s still exist after the wait (a pod may still use them)"
                                % ", ".join(sorted(left)))
    outcome.pvcs_kept = sorted(n for n, c in left.items() if not _terminating(c))
    outcome.pvcs_deleted = sorted(set(names) - set(outcome.pvcs_kept))
    return outcome
