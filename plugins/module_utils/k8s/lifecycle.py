# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""StatefulSet lifecycle decisions: apply/scale, re-create with orphaned pods, claim expansion, teardown.

Data is never deleted unless asked: scale-in and teardown keep PVCs (returned as pvcs_kept);
only ``delete_pvcs`` with state absent removes them, after the pods are gone.
"""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import (
    ImmutableFieldError,
    _vct_essentials,
    apply_object,
    make_diff,
    quantity_bytes,
    result_view,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    ordinal_range,
    pvc_ordinal,
    selector_string,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.rollout import (
    RolloutWaiter,
    build_timeline,
    pod_state,
    statefulset_status_ready,
)

SCALE_MANAGER_SUFFIX = "-scale"


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
                  if pvc_ordinal(c["metadata"]["name"], sts) not in wanted)


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
    name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
    scale_only = set((desired.get("spec") or {}).keys()) == {"replicas"}
    manager = params["field_manager"] + (SCALE_MANAGER_SUFFIX if scale_only else "")
    try:
        applied = apply_object(client, desired, field_manager=manager, force=params["force"], check_mode=check_mode)
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
        outcome.pvcs_kept = kept_claims(client, outcome.statefulset) if not check_mode else sorted(
            c["metadata"]["name"] for c in claims_of(client, applied.before)
            if pvc_ordinal(c["metadata"]["name"], applied.before) not in ordinal_range(applied.after))
    return outcome


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
    applied = apply_object(client, desired, field_manager=params["field_manager"], force=params["force"])
    outcome.statefulset = applied.after
    outcome.diff = make_diff(current, applied.after)
    if params.get("wait"):
        _wait(client, outcome, applied.after, params["wait_timeout"], params["stall_timeout"], log)
    return outcome


def ensure_absent(client, name, namespace, params, check_mode, log=None):
    """Delete the StatefulSet; with wait, scale to 0 first so pods go in reverse ordinal order."""
    outcome = Outcome()
    current = client.get("apps/v1", "StatefulSet", name, namespace)
    if current is None:
        return outcome
    outcome.changed = True
    outcome.diff = {"before": make_diff(current, None)["before"], "after": {}}
    outcome.statefulset = current
    claims = claims_of(client, current)
    if check_mode:
        client.delete("apps/v1", "StatefulSet", name, namespace, dry_run=True)
        if params.get("delete_pvcs"):
            outcome.pvcs_deleted = sorted(c["metadata"]["name"] for c in claims)
        else:
            outcome.pvcs_kept = sorted(c["metadata"]["name"] for c in claims)
        return outcome
    if params.get("wait") and (current["spec"].get("replicas") or (current.get("status") or {}).get("replicas")):
        scale = {"apiVersion": "apps/v1", "kind": "StatefulSet",
                 "metadata": {"name": name, "namespace": namespace}, "spec": {"replicas": 0}}
        apply_object(client, scale, field_manager=params["field_manager"] + SCALE_MANAGER_SUFFIX, force=True)
        # Keep the timeline of the pods going away (created/ready times of what existed).
        pods = client.list("v1", "Pod", namespace, label_selector=selector_string(current["spec"]["selector"]))
        outcome.timeline = build_timeline(name, {p["metadata"]["name"]: pod_state(p) for p in pods.get("items") or []})
        _wait(client, outcome, current, params["wait_timeout"], params["stall_timeout"], log, until="deleted-pods")
    client.delete("apps/v1", "StatefulSet", name, namespace, propagation_policy="Background")
    if params.get("wait") or params.get("delete_pvcs"):
        RolloutWaiter(client, namespace, name, wait_timeout=params["wait_timeout"], stall_timeout=0,
                      log=log).wait("deleted" if params.get("delete_pvcs") else "gone")
    if params.get("delete_pvcs"):
        for claim in claims:
            client.delete("v1", "PersistentVolumeClaim", claim["metadata"]["name"], namespace)
        outcome.pvcs_deleted = sorted(c["metadata"]["name"] for c in claims)
    else:
        outcome.pvcs_kept = sorted(c["metadata"]["name"] for c in claims)
    outcome.statefulset = {}
    return outcome
