# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""StatefulSet lifecycle decisions on top of service.py: scaling, re-create with orphaned pods, teardown, waits.

Data is never deleted unless asked: scale-in and teardown keep PVCs (returned as pvcs_kept);
only ``delete_pvcs`` with state absent removes them, after the pods are gone, and also when the
StatefulSet itself was deleted by an earlier teardown (its claims are found by name and labels).
``pvcs_kept`` reports the claims that still exist: a persistentVolumeClaimRetentionPolicy of Delete
lets the controller remove claims, and that is reported (and warned about), not hidden.
"""
from __future__ import annotations

import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import service
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import NOT_READ, ImmutableFieldError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.claims import (
    claims_left_by,
    claims_of,
    expand_claims,
    kept_claims,
    retention_policy,
    storage_growth,
    terminating,
    wait_claims_gone,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.diff import make_diff, result_view
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import (
    DefinitionError,
    absent_claim_hints,
    build_statefulset,
    selector_is_derived,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    dns1123_label_error,
    ordinal_range,
    pvc_ordinal,
    selector_string,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.readiness import (
    build_timeline,
    pod_state,
    statefulset_status_ready,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.rollout import RolloutWaiter
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.service import ApplyOptions

SCALE_MANAGER_SUFFIX = "-scale"


class StatefulSetOptions:
    """A statefulset task, read once from the module's parameters (bad input raises DefinitionError).

    ``desired`` is the manifest (state present); ``rebuild(live_selector)`` builds it again around the
    live selector when the selector is derived from the options (it cannot change once created).
    """

    def __init__(self, name, namespace, apply_options=None, desired=None, rebuild=None, wait=True,
                 wait_timeout=600, stall_timeout=180, delete_pvcs=False, claim_selector=None, claim_templates=None):
        self.name, self.namespace = name, namespace
        self.apply = apply_options or ApplyOptions()
        self.desired, self.rebuild = desired, rebuild
        self.wait, self.wait_timeout, self.stall_timeout = bool(wait), wait_timeout, stall_timeout
        self.delete_pvcs = bool(delete_pvcs)
        self.claim_selector, self.claim_templates = claim_selector, claim_templates

    @classmethod
    def from_params(cls, params):
        if params.get("delete_pvcs") and params.get("state") != "absent":
            raise DefinitionError("delete_pvcs only applies to state: absent")
        if params["wait_timeout"] <= 0:
            raise DefinitionError("wait_timeout must be a positive number of seconds")
        common = dict(apply_options=ApplyOptions.from_params(params), wait=params.get("wait"),
                      wait_timeout=params["wait_timeout"], stall_timeout=params["stall_timeout"],
                      delete_pvcs=params.get("delete_pvcs"))
        if params.get("state", "present") == "present":
            desired = build_statefulset(params)

            def rebuild(live_selector):
                return build_statefulset(params, live_selector=live_selector)
            meta = desired["metadata"]
            return cls(meta["name"], meta["namespace"], desired=desired,
                       rebuild=rebuild if selector_is_derived(params) else None, **common)
        for field in ("name", "namespace"):
            error = dns1123_label_error(params[field], field)
            if error:
                raise DefinitionError(error)
        selector, templates = absent_claim_hints(params)
        return cls(params["name"], params["namespace"], claim_selector=selector, claim_templates=templates, **common)

    @property
    def managers(self):
        """Our field managers: the full apply's and the replicas-only one's (they never conflict for real)."""
        return {self.apply.field_manager, self.apply.field_manager + SCALE_MANAGER_SUFFIX}

    @property
    def scale_only(self):
        return self.desired is not None and set((self.desired.get("spec") or {}).keys()) == {"replicas"}

    def remaining_seconds(self, started):
        return max(1.0, self.wait_timeout - (time.monotonic() - started))


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


def _wait(client, outcome, sts, options, log, until="ready"):
    waiter = RolloutWaiter(client, sts["metadata"]["namespace"], sts["metadata"]["name"],
                           wait_timeout=options.wait_timeout, stall_timeout=options.stall_timeout, log=log)
    result = waiter.wait(until)
    outcome.timeline = result.timeline or outcome.timeline
    outcome.wait_seconds = round(outcome.wait_seconds + result.wait_seconds, 3)
    outcome.warnings.extend(result.warnings)
    outcome.watch_resumes += getattr(result, "watch_resumes", 0)
    outcome.warnings.extend("OrderedReady order not kept: %s" % p for p in result.order_problems)
    if result.statefulset is not None:
        outcome.statefulset = result.statefulset
    return result


def _wait_gone(client, options, log, until="gone"):
    RolloutWaiter(client, options.namespace, options.name, wait_timeout=options.wait_timeout, stall_timeout=0,
                  log=log).wait(until)


def _growth_hint(exc, desired):
    """The refusal of an immutable change, with what recreate: orphan would do when only storage grew."""
    growth = storage_growth(desired, exc.current) if exc.current else None
    hint = ""
    if growth:
        hint = (" The only template change is a larger storage request (%s): with recreate: orphan each "
                "existing PVC is expanded first (when its StorageClass allows expansion) and the "
                "StatefulSet is re-created with the new template." % ", ".join("%s %s -> %s" % g for g in growth))
    return ImmutableFieldError(exc.msg + "." + hint, exc.fields, exc.current)


def ensure_present(client, options, check_mode, log=None):
    """Apply (or only scale) the StatefulSet, re-create it when asked, wait, and report the claims."""
    outcome = Outcome()
    started = time.monotonic()
    desired, name, namespace = options.desired, options.name, options.namespace
    manager = options.apply.field_manager + (SCALE_MANAGER_SUFFIX if options.scale_only else "")
    live = NOT_READ
    if options.rebuild is not None:
        # The selector cannot change: once the StatefulSet exists, keep its selector (labels only add).
        live = client.get("apps/v1", "StatefulSet", name, namespace)
        if live is not None and (live.get("spec") or {}).get("selector"):
            desired = options.rebuild(live["spec"]["selector"])
    try:
        applied = service.apply(client, desired, options.apply, check_mode, current=live, manager=manager,
                                allies=options.managers - {manager})
    except ImmutableFieldError as exc:
        if options.scale_only:
            raise
        if options.apply.recreate != "orphan":
            raise _growth_hint(exc, desired)
        return recreate_orphan(client, desired, exc.current, options, check_mode, outcome, log)
    except K8sError as exc:
        if options.scale_only and exc.status in (404, 422):
            if client.get("apps/v1", "StatefulSet", name, namespace) is None:
                raise K8sError("StatefulSet %s/%s does not exist: replicas alone cannot create it; give image, "
                               "template or definition" % (namespace, name))
        raise
    outcome.changed = applied.changed
    outcome.statefulset = applied.after
    if applied.changed:
        outcome.diff = applied.diff
    before_replicas = ((applied.before or {}).get("spec") or {}).get("replicas")
    after_replicas = ((applied.after or {}).get("spec") or {}).get("replicas", 1)
    if options.wait and not check_mode:
        if not applied.changed and statefulset_status_ready(applied.after)[0]:
            # Already ready and untouched: one list for the timeline instead of opening watches.
            pods = client.list("v1", "Pod", namespace,
                               label_selector=selector_string(applied.after["spec"]["selector"]))
            outcome.timeline = build_timeline(name, {p["metadata"]["name"]: pod_state(p)
                                                     for p in pods.get("items") or []})
        else:
            _wait(client, outcome, applied.after, options, log)
    if before_replicas is not None and after_replicas < before_replicas:
        _scaled_in_claims(client, outcome, applied, options, check_mode, started)
    return outcome


def _scaled_in_claims(client, outcome, applied, options, check_mode, started):
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
    if policy_deletes and removed and options.wait:
        wait_claims_gone(client, options.namespace, removed, options.remaining_seconds(started))
    kept = kept_claims(client, outcome.statefulset)
    if policy_deletes and not options.wait:
        kept = [c for c in kept if c not in removed]  # being deleted by the controller (see the warning)
    outcome.pvcs_kept = kept
    outcome.pvcs_deleted = sorted(set(removed) - set(kept))


def recreate_orphan(client, desired, current, options, check_mode, outcome, log=None):
    """Expand claims, delete with propagationPolicy=Orphan (pods and PVCs stay), create again, wait."""
    outcome.pvcs_expanded = expand_claims(client, desired, current, check_mode)

    def remove(dry_run):
        client.delete("apps/v1", "StatefulSet", options.name, options.namespace, propagation_policy="Orphan",
                      dry_run=dry_run)
        if not dry_run:
            _wait_gone(client, options, log)

    recreated = service.recreate(client, desired, current, options.apply, check_mode, remove=remove,
                                 allies=options.managers - {options.apply.field_manager})
    outcome.changed = outcome.recreated = True
    outcome.statefulset = recreated.after
    # In check mode the re-created object is not known: the diff shows what the task asks for.
    outcome.diff = recreated.diff or make_diff(current, desired)
    if options.wait and not check_mode:
        _wait(client, outcome, recreated.after, options, log)
    return outcome


def ensure_absent(client, options, check_mode, log=None):
    """Delete the StatefulSet; with wait, scale to 0 first so pods go in reverse ordinal order.

    The options' claim selector / templates narrow the claims found when the StatefulSet is already gone.
    """
    outcome = Outcome()
    started = time.monotonic()
    name, namespace = options.name, options.namespace
    current = client.get("apps/v1", "StatefulSet", name, namespace)
    if current is None:
        claims = claims_left_by(client, name, namespace, options.claim_selector, options.claim_templates)
        return _settle_claims(client, outcome, claims, options, check_mode, started, policy_deletes=False)
    outcome.changed = True
    outcome.diff = service.absent_diff(current)
    outcome.statefulset = current
    claims = claims_of(client, current)
    policy_deletes = retention_policy(current)[0] == "Delete"
    if check_mode:
        client.delete("apps/v1", "StatefulSet", name, namespace, dry_run=True)
        return _settle_claims(client, outcome, claims, options, check_mode, started, policy_deletes)
    if options.wait and (current["spec"].get("replicas") or (current.get("status") or {}).get("replicas")):
        scale = {"apiVersion": "apps/v1", "kind": "StatefulSet",
                 "metadata": {"name": name, "namespace": namespace}, "spec": {"replicas": 0}}
        # Forced: the StatefulSet is being deleted as asked, whoever set its replicas.
        service.apply(client, scale, ApplyOptions(options.apply.field_manager + SCALE_MANAGER_SUFFIX, force=True),
                      False)
        # Keep the timeline of the pods going away (created/ready times of what existed).
        pods = client.list("v1", "Pod", namespace, label_selector=selector_string(current["spec"]["selector"]))
        outcome.timeline = build_timeline(name, {p["metadata"]["name"]: pod_state(p) for p in pods.get("items") or []})
        _wait(client, outcome, current, options, log, until="deleted-pods")
    client.delete("apps/v1", "StatefulSet", name, namespace, propagation_policy="Background")
    if options.wait or options.delete_pvcs:
        _wait_gone(client, options, log, "deleted" if options.delete_pvcs else "gone")
    outcome.statefulset = {}
    return _settle_claims(client, outcome, claims, options, check_mode, started, policy_deletes)


def _settle_claims(client, outcome, claims, options, check_mode, started, policy_deletes):
    """Delete the claims when asked, wait for them to go, and report the claims that still exist."""
    names = sorted(c["metadata"]["name"] for c in claims)
    if policy_deletes and names and not options.delete_pvcs:
        outcome.warnings.append(
            "persistentVolumeClaimRetentionPolicy.whenDeleted is Delete: the StatefulSet controller deletes its "
            "claims (%s) and their data with it; set whenDeleted: Retain to keep them" % ", ".join(names))
    if check_mode:
        doomed = options.delete_pvcs or policy_deletes
        outcome.pvcs_deleted = names if doomed else []
        outcome.pvcs_kept = [] if doomed else names
        outcome.changed = outcome.changed or bool(options.delete_pvcs and names)
        return outcome
    if options.delete_pvcs:
        for claim in names:
            client.delete("v1", "PersistentVolumeClaim", claim, options.namespace)
        outcome.changed = outcome.changed or bool(names)
    if not names or not (options.delete_pvcs or policy_deletes):
        outcome.pvcs_kept = sorted(c["metadata"]["name"] for c in claims if not terminating(c))
        return outcome
    if not options.wait:
        outcome.pvcs_deleted = names  # deletion in progress, not awaited
        return outcome
    left = wait_claims_gone(client, options.namespace, names, options.remaining_seconds(started))
    if left:
        outcome.warnings.append("claims %s still exist after the wait (a pod may still use them)"
                                % ", ".join(sorted(left)))
    outcome.pvcs_kept = sorted(n for n, c in left.items() if not terminating(c))
    outcome.pvcs_deleted = sorted(set(names) - set(outcome.pvcs_kept))
    return outcome
