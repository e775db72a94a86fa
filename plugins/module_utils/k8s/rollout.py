# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait for a StatefulSet by watching it and its pods; say which ordinal is stuck and why.

Two watches (the StatefulSet by name, its pods by selector) feed one queue; the predicate is
re-evaluated on every event, so the wait ends the moment the condition holds. A dropped watch is
resumed from the last resourceVersion; 410 Gone re-lists. No sleeping in a loop: the only timed
wake-ups are the deadline, the stall timer and minReadySeconds expiries.

The predicates are pure functions of the objects so they are unit-tested table by table.
"""
from __future__ import annotations

import queue
import threading
import time
from datetime import datetime, timezone

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import (
    K8sApiError,
    K8sError,
    K8sUnreachableError,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    ordinal_range,
    pod_ordinal,
    pvc_names,
    selector_string,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.progress import ProgressWriter

REVISION_LABEL = "controller-revision-hash"


class WaitTimeout(K8sError):
    """The wait ended without the condition; ``msg`` names the stuck ordinal and why."""

    def __init__(self, msg, timeline=None, statefulset=None, stuck=None):
        super().__init__(msg)
        self.timeline = timeline or []
        self.statefulset = statefulset
        self.stuck = stuck


def parse_time(value):
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def iso(ts):
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- pure predicates -----------------------------------------------------------------------------
def statefulset_status_ready(sts):
    """(done, why-not) from the StatefulSet's own status, as kubectl rollout status judges it.

    RollingUpdate: observedGeneration caught up, updated pods cover ordinals >= partition (all of
    them and currentRevision == updateRevision when there is no partition). OnDelete: pods are not
    replaced by the controller, so only counts matter. Always: replicas, readyReplicas and
    availableReplicas (which honours minReadySeconds) equal spec.replicas.
    """
    spec = sts.get("spec") or {}
    status = sts.get("status") or {}
    meta = sts.get("metadata") or {}
    replicas = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return False, "the StatefulSet controller has not observed generation %s yet" % meta.get("generation")
    if status.get("replicas", 0) != replicas:
        return False, "%d pod(s) exist, %d wanted" % (status.get("replicas", 0), replicas)
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        partition = ((strategy.get("rollingUpdate") or {}).get("partition")) or 0
        if partition > 0:
            wanted = max(replicas - partition, 0)
            if status.get("updatedReplicas", 0) < wanted:
                return False, "%d of %d pod(s) at ordinals >= partition %d updated" % (
                    status.get("updatedReplicas", 0), wanted, partition)
        else:
            if replicas and status.get("updatedReplicas", 0) < replicas:
                return False, "%d of %d pod(s) updated" % (status.get("updatedReplicas", 0), replicas)
            if replicas and status.get("updateRevision") and \
                    status.get("currentRevision") != status.get("updateRevision"):
                return False, "rolling update to revision %s in progress" % status.get("updateRevision")
    if status.get("readyReplicas", 0) != replicas:
        return False, "%d of %d pod(s) ready" % (status.get("readyReplicas", 0), replicas)
    available = status.get("availableReplicas")
    if available is not None and available != replicas:
        return False, "%d of %d pod(s) available (minReadySeconds %s)" % (
            available, replicas, spec.get("minReadySeconds", 0))
    return True, "ready"


def pod_state(pod):
    """The few facts the waiter keeps per pod (200 full pods would be wasteful)."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conditions.get("Ready") or {}
    scheduled = conditions.get("PodScheduled") or {}
    return {
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "created": parse_time(meta.get("creationTimestamp")),
        "scheduled": parse_time(scheduled.get("lastTransitionTime")) if scheduled.get("status") == "True" else None,
        "ready": ready.get("status") == "True",
        "ready_since": parse_time(ready.get("lastTransitionTime")) if ready.get("status") == "True" else None,
        "phase": status.get("phase"),
        "revision": (meta.get("labels") or {}).get(REVISION_LABEL),
        "terminating": bool(meta.get("deletionTimestamp")),
        "node": (pod.get("spec") or {}).get("nodeName"),
    }


def pods_ready(sts, pods, now):
    """(done, why-not, next_wakeup) judged from the pods themselves (arrives before the status).

    ``pods`` maps name -> pod_state. Needs observedGeneration caught up so updateRevision is the
    revision for the current spec.
    """
    spec = sts.get("spec") or {}
    status = sts.get("status") or {}
    name = sts["metadata"]["name"]
    if status.get("observedGeneration", 0) < sts["metadata"].get("generation", 1):
        return False, "generation not observed", None
    wanted = ordinal_range(sts)
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    partition = ((strategy.get("rollingUpdate") or {}).get("partition")) or 0
    update_revision = status.get("updateRevision")
    min_ready = spec.get("minReadySeconds") or 0
    by_ordinal = {}
    for state in pods.values():
        ordinal = pod_ordinal(state["name"], name)
        if ordinal is None:
            continue
        if ordinal not in wanted:
            return False, "pod %s (outside the wanted ordinals) still exists" % state["name"], None
        by_ordinal[ordinal] = state
    next_wakeup = None
    for ordinal in wanted:
        state = by_ordinal.get(ordinal)
        if state is None:
            return False, "pod %s-%d does not exist yet" % (name, ordinal), None
        if state["terminating"]:
            return False, "pod %s is terminating" % state["name"], None
        if not state["ready"]:
            return False, "pod %s is not ready" % state["name"], None
        if rolling and ordinal >= partition and update_revision and state["revision"] != update_revision:
            return False, "pod %s is not at revision %s" % (state["name"], update_revision), None
        if min_ready and state["ready_since"] is not None and state["ready_since"] + min_ready > now:
            available_at = state["ready_since"] + min_ready
            next_wakeup = available_at if next_wakeup is None else max(next_wakeup, available_at)
    if next_wakeup is not None:
        return False, "waiting minReadySeconds (%ss)" % min_ready, next_wakeup
    return True, "ready", None


def build_timeline(sts_name, pods):
    """Per-ordinal times (ISO 8601 UTC) sorted by ordinal."""
    rows = []
    for state in pods.values():
        ordinal = pod_ordinal(state["name"], sts_name)
        if ordinal is None:
            continue
        rows.append({"ordinal": ordinal, "pod": state["name"], "created": iso(state["created"]),
                     "scheduled": iso(state["scheduled"]), "ready": iso(state["ready_since"]),
                     "node": state.get("node")})
    rows.sort(key=lambda r: r["ordinal"])
    return rows


def order_violations(sts, pods):
    """Under OrderedReady each pod is created only after the previous ordinal was Ready.

    Returns human-readable violations (empty when the order held or the policy is Parallel).
    """
    if ((sts.get("spec") or {}).get("podManagementPolicy") or "OrderedReady") != "OrderedReady":
        return []
    name = sts["metadata"]["name"]
    ordered = sorted((pod_ordinal(s["name"], name), s) for s in pods.values() if pod_ordinal(s["name"], name) is not None)
    problems = []
    for (prev_ord, prev), (ordinal, state) in zip(ordered, ordered[1:]):
        if prev["ready_since"] is None or state["created"] is None:
            continue
        if state["created"] < prev["ready_since"] and state["created"] >= (prev["created"] or 0):
            problems.append("pod %s was created before %s was Ready" % (state["name"], prev["name"]))
    return problems


def stuck_ordinal(sts, pods):
    """The ordinal the controller is waiting on, or None."""
    name = sts["metadata"]["name"]
    spec = sts.get("spec") or {}
    status = sts.get("status") or {}
    wanted = list(ordinal_range(sts))
    by_ordinal = {pod_ordinal(s["name"], name): s for s in pods.values()}
    extra = sorted(o for o in by_ordinal if o is not None and o not in wanted)
    if extra:
        return extra[-1]  # scale-in removes the highest ordinal first
    not_ready = [o for o in wanted if o not in by_ordinal or not by_ordinal[o]["ready"]
                 or by_ordinal[o]["terminating"]]
    if not_ready:
        return not_ready[0]
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        partition = ((strategy.get("rollingUpdate") or {}).get("partition")) or 0
        stale = [o for o in wanted if o >= partition and status.get("updateRevision")
                 and by_ordinal[o]["revision"] != status.get("updateRevision")]
        if stale:
            return stale[-1]  # rolling updates go from the highest ordinal down
    return None


def _events_for(events, kind, name):
    out = [e for e in events or [] if (e.get("involvedObject") or {}).get("kind") == kind
           and (e.get("involvedObject") or {}).get("name") == name]
    out.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "", reverse=True)
    return out


def diagnose_pvc(pvc, storage_classes, events):
    """Why a claim is not Bound, or None when it is."""
    if pvc is None:
        return None
    phase = (pvc.get("status") or {}).get("phase")
    if phase == "Bound":
        return None
    name = pvc["metadata"]["name"]
    class_name = (pvc.get("spec") or {}).get("storageClassName")
    classes = {c["metadata"]["name"]: c for c in storage_classes or []}
    defaults = [n for n, c in classes.items() if ((c.get("metadata") or {}).get("annotations") or {}).get(
        "storageclass.kubernetes.io/is-default-class") == "true"]
    if class_name is None and not defaults:
        return ("PVC %s is Pending: it names no StorageClass and the cluster has no default StorageClass; set "
                "storageClassName in volumeClaimTemplates or mark a StorageClass as default" % name)
    if class_name and class_name not in classes:
        return "PVC %s is Pending: StorageClass %r does not exist (available: %s)" % (
            name, class_name, ", ".join(sorted(classes)) or "none")
    for event in _events_for(events, "PersistentVolumeClaim", name):
        if event.get("type") == "Warning" or event.get("reason") in ("FailedBinding", "ProvisioningFailed"):
            return "PVC %s is Pending: %s: %s" % (name, event.get("reason"), event.get("message"))
    if class_name == "":
        return "PVC %s is Pending: no PersistentVolume matches it (storageClassName \"\" needs a pre-created PV)" % name
    return "PVC %s is %s: no PersistentVolume bound yet" % (name, phase or "Pending")


def _last_words(message, limit=300):
    """The line of a container's termination message (its log tail) that says most: the last error."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if not lines:
        return ""
    # Servers end with a generic "[ERROR] Aborting" after the error that matters.
    errors = [line for line in lines if ("ERROR" in line or "Error" in line) and not line.endswith("Aborting")]
    said = (errors or lines)[-1]
    return said if len(said) <= limit else said[:limit] + "..."


def _memory_limit(pod, container_name):
    spec = pod.get("spec") or {}
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if container.get("name") == container_name:
            return ((container.get("resources") or {}).get("limits") or {}).get("memory")
    return None


def diagnose_pod(pod, pvcs=None, storage_classes=None, events=None, pod_name=None, sts_events=None):
    """(reason, message) explaining why a pod is not Ready; reason is a short stable keyword."""
    if pod is None:
        for event in _events_for(sts_events, "StatefulSet", None) or (sts_events or []):
            if event.get("reason") in ("FailedCreate", "FailedDelete") or event.get("type") == "Warning":
                return "FailedCreate", "pod %s was not created: %s" % (pod_name, event.get("message"))
        return "NotCreated", "pod %s has not been created yet" % pod_name
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating", "pod %s is terminating" % name
    uid = (pod.get("metadata") or {}).get("uid")
    # Events of an earlier pod of the same name (deleted and re-created) are not this pod's.
    pod_events = [e for e in _events_for(events, "Pod", name)
                  if not uid or (e.get("involvedObject") or {}).get("uid") in (None, uid)]
    for event in pod_events:
        message = event.get("message") or ""
        if "Multi-Attach" in message:
            return "MultiAttach", "pod %s: %s" % (name, message)
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        reason = waiting.get("reason")
        last = (container.get("lastState") or {}).get("terminated") or state.get("terminated") or {}
        if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"):
            return "ImagePull", "pod %s: image %s cannot be pulled (%s): %s" % (
                name, container.get("image"), reason, waiting.get("message") or "")
        if last.get("reason") == "OOMKilled" and not container.get("ready"):
            limit = _memory_limit(pod, container.get("name"))
            return "OOMKilled", (
                "pod %s: container %s ran out of memory and was killed (OOMKilled, %d restarts%s): "
                "raise its memory limit" % (name, container.get("name"), container.get("restartCount", 0),
                                            ", memory limit " + limit if limit else ", no memory limit set"))
        restarting = last and container.get("restartCount", 0) > 0 and not container.get("ready")
        if reason == "CrashLoopBackOff" or restarting:
            # Between two crashes the container briefly runs: it is the same crash loop.
            said = _last_words(last.get("message"))
            return "CrashLoopBackOff", "pod %s: container %s %s (%d restarts, last exit code %s%s)%s" % (
                name, container.get("name"), "is crash-looping" if reason == "CrashLoopBackOff" else "keeps restarting",
                container.get("restartCount", 0), last.get("exitCode"),
                ", " + last["reason"] if last.get("reason") else "", "; it said: " + said if said else "")
        if reason in ("CreateContainerConfigError", "CreateContainerError", "RunContainerError"):
            return reason, "pod %s: container %s: %s" % (name, container.get("name"), waiting.get("message"))
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    scheduled = conditions.get("PodScheduled") or {}
    if scheduled.get("status") == "False" or (status.get("phase") == "Pending" and not (pod.get("spec") or {}).get("nodeName")):
        for claim in pvcs or []:
            problem = diagnose_pvc(claim, storage_classes, events)
            if problem:
                return "PVCPending", "pod %s cannot be scheduled: %s" % (name, problem)
        return "Unschedulable", "pod %s is unschedulable: %s" % (name, scheduled.get("message") or "no node fits")
    for claim in pvcs or []:
        problem = diagnose_pvc(claim, storage_classes, events)
        if problem:
            return "PVCPending", "pod %s: %s" % (name, problem)
    for event in pod_events:
        if event.get("reason") == "Unhealthy":
            for probe in ("Readiness", "Startup", "Liveness"):
                if probe in (event.get("message") or ""):
                    return probe + "Probe", "pod %s: %s probe failing: %s" % (
                        name, probe.lower(), (event.get("message") or "").strip())
        if event.get("reason") in ("FailedMount", "FailedAttachVolume"):
            return event["reason"], "pod %s: %s" % (name, event.get("message"))
    ready = conditions.get("Ready") or {}
    if status.get("phase") == "Running" and ready.get("status") != "True":
        containers_ready = conditions.get("ContainersReady") or {}
        return "ReadinessProbe", "pod %s is Running but not Ready (%s%s)" % (
            name, containers_ready.get("reason") or ready.get("reason") or "readiness probe not passing",
            ": " + (containers_ready.get("message") or ready.get("message")) if (
                containers_ready.get("message") or ready.get("message")) else "")
    return status.get("phase") or "Unknown", "pod %s is %s%s" % (
        name, status.get("phase") or "in an unknown phase",
        (": " + status["message"]) if status.get("message") else "")


# -- the waiter ----------------------------------------------------------------------------------
class _Watch(threading.Thread):
    """List then watch one query; puts ("sync", items) / ("event", type, obj) / ("error", exc) on a queue."""

    def __init__(self, client, api_version, kind, namespace, events, stop, deadline, label_selector=None,
                 field_selector=None):
        super().__init__(daemon=True)
        self.client, self.api_version, self.kind, self.namespace = client, api_version, kind, namespace
        self.events, self.stop, self.deadline = events, stop, deadline
        self.label_selector, self.field_selector = label_selector, field_selector
        self.reconnects = 0
        self.relists = 0

    def run(self):
        try:
            self._run()
        except K8sError as exc:
            self.events.put(("error", self.kind, exc))
        except Exception as exc:  # a bug must not hang the wait until the deadline
            self.events.put(("error", self.kind, K8sError("watching %s failed: %r" % (self.kind, exc))))

    def _list(self):
        listing = self.client.list(self.api_version, self.kind, self.namespace,
                                   label_selector=self.label_selector, field_selector=self.field_selector)
        self.events.put(("sync", self.kind, listing.get("items") or []))
        return (listing.get("metadata") or {}).get("resourceVersion")

    def _run(self):
        resource_version = self._list()
        attempt = 0
        while not self.stop.is_set():
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                stream = self.client.watch(self.api_version, self.kind, self.namespace,
                                           resource_version=resource_version,
                                           label_selector=self.label_selector,
                                           field_selector=self.field_selector,
                                           timeout_seconds=min(remaining + 1, 290),
                                           deadline=self.client.policy.clock() + remaining)
                for event in stream:
                    attempt = 0
                    obj = event.get("object") or {}
                    resource_version = (obj.get("metadata") or {}).get("resourceVersion") or resource_version
                    if event.get("type") != "BOOKMARK":
                        self.events.put(("event", self.kind, event.get("type"), obj))
                    if self.stop.is_set():
                        return
            except K8sApiError as exc:
                if exc.status == 410:  # too old: start over from a fresh list
                    self.relists += 1
                    resource_version = self._list_retrying()
                    continue
                raise
            except (K8sUnreachableError, OSError, ValueError) as exc:
                # A dropped stream (server restarted, connection reset): resume from where we were.
                attempt += 1
                self.reconnects += 1
                if not self.client.policy.wait(attempt, budget_end=self.client.policy.clock() + max(
                        0.0, self.deadline - time.monotonic())):
                    raise K8sUnreachableError("watch on %s could not be resumed: %s" % (self.kind, exc))
                continue
            except Exception as exc:  # urllib3 protocol errors raised while streaming
                attempt += 1
                self.reconnects += 1
                if not self.client.policy.wait(attempt, budget_end=self.client.policy.clock() + max(
                        0.0, self.deadline - time.monotonic())):
                    raise K8sUnreachableError("watch on %s could not be resumed: %s" % (self.kind, exc))
                continue
            # Stream ended cleanly (server-side timeout): resume from the last resourceVersion.

    def _list_retrying(self):
        return self._list()


class WaitResult:
    def __init__(self, statefulset, timeline, wait_seconds, warnings, order_problems, requests):
        self.statefulset = statefulset
        self.timeline = timeline
        self.wait_seconds = wait_seconds
        self.warnings = warnings
        self.order_problems = order_problems
        self.requests = requests


class RolloutWaiter:
    """Watch a StatefulSet and its pods until it is ready (or gone, or the ordinals are removed)."""

    def __init__(self, client, namespace, name, wait_timeout=300, stall_timeout=120, log=None,
                 clock=time.monotonic):
        self.client = client
        self.namespace = namespace
        self.name = name
        self.wait_timeout = wait_timeout
        self.stall_timeout = stall_timeout
        self.log = log or (lambda msg: None)
        self.clock = clock
        self.sts = None
        self.pods = {}
        self.warnings = []
        self.watches = []
        self.progress = ProgressWriter(namespace, name)  # a no-op unless the progress callback listens

    def _progress_key(self):
        status = (self.sts or {}).get("status") or {}
        pods = tuple(sorted((s["name"], s["ready"], s["terminating"], s["phase"], s["revision"])
                            for s in self.pods.values()))
        return (status.get("observedGeneration"), status.get("replicas"), status.get("readyReplicas"),
                status.get("availableReplicas"), status.get("updatedReplicas"), status.get("currentRevision"),
                pods)

    def _note_pod(self, kind, obj):
        self.progress.pod(kind, obj)
        state = pod_state(obj)
        previous = self.pods.get(state["name"])
        if kind == "DELETED":
            self.pods.pop(state["name"], None)
            self.log("%s: deleted" % state["name"])
            return
        self.pods[state["name"]] = state
        if previous is None:
            self.log("%s: created" % state["name"])
        elif state["ready"] and not previous["ready"]:
            self.log("%s: ready" % state["name"])
        elif state["scheduled"] and not previous["scheduled"]:
            self.log("%s: scheduled on %s" % (state["name"], state["node"]))

    def wait(self, until="ready"):
        """Block until ``until`` ("ready" or "deleted") holds; raise WaitTimeout naming the stuck ordinal."""
        started = self.clock()
        deadline = started + self.wait_timeout
        events = queue.Queue()
        stop = threading.Event()
        sts_watch = _Watch(self.client, "apps/v1", "StatefulSet", self.namespace, events, stop, deadline,
                           field_selector="metadata.name=%s" % self.name)
        sts_watch.start()
        self.watches = [sts_watch]
        pod_watch = None
        synced = set()
        last_progress_key = None
        last_progress = started
        warned_stall = False
        wakeup = None
        try:
            while True:
                now = self.clock()
                if "StatefulSet" in synced and (until != "ready" or self.sts is not None) and (
                        pod_watch is None or "Pod" in synced):
                    done, why = self._done(until, time.time())
                    if done:
                        return self._result(started)
                    wakeup = why[1]
                key = self._progress_key()
                if key != last_progress_key:
                    last_progress_key, last_progress = key, now
                    warned_stall = False
                if now >= deadline:
                    raise self._timeout("wait_timeout (%ss) reached" % self.wait_timeout, started)
                if self.stall_timeout and now - last_progress >= self.stall_timeout and "Pod" in synced:
                    raise self._timeout("no progress for stall_timeout (%ss)" % self.stall_timeout, started)
                if self.stall_timeout and not warned_stall and now - last_progress >= self.stall_timeout / 2 \
                        and "Pod" in synced and self.sts is not None:
                    warned_stall = True
                    self._warn_stall(now - last_progress)
                timeout = deadline - now
                if self.stall_timeout:
                    stall_at = last_progress + (self.stall_timeout / 2 if not warned_stall else self.stall_timeout)
                    timeout = min(timeout, max(0.0, stall_at - now))
                if wakeup is not None:
                    timeout = min(timeout, max(0.0, wakeup - time.time()))
                try:
                    item = events.get(timeout=max(0.01, timeout))
                except queue.Empty:
                    continue
                if item[0] == "error":
                    raise item[2]
                if item[0] == "sync":
                    kind, items = item[1], item[2]
                    if kind == "StatefulSet":
                        self.sts = items[0] if items else None
                        if self.sts is None and until == "ready":
                            raise K8sError("StatefulSet %s/%s does not exist" % (self.namespace, self.name))
                        if self.sts is not None and pod_watch is None:
                            pod_watch = _Watch(self.client, "v1", "Pod", self.namespace, events, stop, deadline,
                                               label_selector=selector_string(self.sts["spec"].get("selector")))
                            pod_watch.start()
                            self.watches.append(pod_watch)
                        if self.sts is None and until != "ready" and pod_watch is None:
                            # Pods may outlive an orphaning delete; only "deleted" cares about them.
                            if until == "deleted":
                                pod_watch = _Watch(self.client, "v1", "Pod", self.namespace, events, stop,
                                                   deadline, label_selector=None)
                                pod_watch.start()
                                self.watches.append(pod_watch)
                    else:
                        self.pods = {}
                        for obj in items:
                            self._note_pod("ADDED", obj)
                    synced.add(kind)
                    continue
                kind, event_type, obj = item[1], item[2], item[3]
                if kind == "StatefulSet":
                    self.sts = None if event_type == "DELETED" else obj
                    if self.sts is None and until == "ready":
                        raise K8sError("StatefulSet %s/%s was deleted while waiting for it" % (
                            self.namespace, self.name))
                else:
                    self._note_pod(event_type, obj)
        finally:
            stop.set()

    def _done(self, until, wall_now):
        if until == "gone":
            return self.sts is None, ("StatefulSet still exists", None)
        if until == "deleted-pods":
            left = sorted(p for p in self.pods if pod_ordinal(p, self.name) is not None)
            return not left, ("pods %s still exist" % ", ".join(left), None)
        if until == "deleted":
            return (self.sts is None and not [p for p in self.pods if pod_ordinal(p, self.name) is not None]), (
                "StatefulSet or its pods still exist", None)
        if self.sts is None:
            return False, ("StatefulSet was deleted", None)
        ok, why = statefulset_status_ready(self.sts)
        if ok and not [s for s in self.pods.values()
                       if pod_ordinal(s["name"], self.name) not in ordinal_range(self.sts)
                       and pod_ordinal(s["name"], self.name) is not None]:
            return True, (why, None)
        ok, why, wakeup = pods_ready(self.sts, self.pods, wall_now)
        if ok and (self.sts.get("status") or {}).get("replicas", 0) <= self.sts["spec"].get("replicas", 1):
            return True, (why, None)
        return False, (why, wakeup)

    def _result(self, started):
        if self.sts is not None and not pods_ready(self.sts, self.pods, float("inf"))[0]:
            # The status said ready before the last pod events reached us: one list completes the timeline.
            try:
                listing = self.client.list("v1", "Pod", self.namespace,
                                           label_selector=selector_string(self.sts["spec"].get("selector")))
                self.pods = {p["metadata"]["name"]: pod_state(p) for p in listing.get("items") or []}
                for pod in listing.get("items") or []:
                    self.progress.pod("MODIFIED", pod)
            except K8sError:
                pass  # the wait succeeded; an incomplete timeline is not worth failing for
        timeline = build_timeline(self.name, self.pods)
        problems = order_violations(self.sts, self.pods) if self.sts else []
        result = WaitResult(self.sts, timeline, round(self.clock() - started, 3), self.warnings, problems,
                            self.client.request_count)
        result.watch_resumes = sum(w.reconnects + w.relists for w in self.watches)
        return result

    def _diagnose(self):
        """(ordinal, message) for the stuck ordinal, reading pods/PVCs/events once."""
        if self.sts is None:
            return None, "the StatefulSet does not exist"
        ordinal = stuck_ordinal(self.sts, self.pods)
        ok, why = statefulset_status_ready(self.sts)
        if ordinal is None:
            return None, why
        pod_name = "%s-%d" % (self.name, ordinal)
        try:
            pod = self.client.get("v1", "Pod", pod_name, self.namespace)
            claims = [self.client.get("v1", "PersistentVolumeClaim", c, self.namespace)
                      for c in pvc_names(self.sts, ordinal)]
            claims = [c for c in claims if c]
            events = (self.client.list("v1", "Event", self.namespace).get("items") or [])
            classes = []
            if any((c.get("status") or {}).get("phase") != "Bound" for c in claims):
                classes = self.client.list("storage.k8s.io/v1", "StorageClass").get("items") or []
        except K8sError as exc:
            return ordinal, "pod %s (details unavailable: %s)" % (pod_name, exc.msg)
        sts_events = _events_for(events, "StatefulSet", self.name)
        extra = ordinal not in ordinal_range(self.sts)
        if extra and pod is not None:
            reason, message = diagnose_pod(pod, claims, classes, events, pod_name)
            if reason in ("Running", "Unknown", "Pending"):
                message = "pod %s should be removed by scale-in but still exists (%s)" % (pod_name, message)
            return ordinal, message
        reason, message = diagnose_pod(pod, claims, classes, events, pod_name, sts_events)
        return ordinal, message

    def _warn_stall(self, seconds):
        ordinal, message = self._diagnose()
        self.warnings.append("StatefulSet %s/%s: no progress for %ds; %s" % (
            self.namespace, self.name, seconds, message if ordinal is not None else message))

    def _timeout(self, why, started):
        ordinal, message = self._diagnose()
        status_why = statefulset_status_ready(self.sts)[1] if self.sts else "StatefulSet missing"
        if ordinal is not None:
            text = "StatefulSet %s/%s not ready: %s; stuck at ordinal %d: %s (status: %s)" % (
                self.namespace, self.name, why, ordinal, message, status_why)
        else:
            text = "StatefulSet %s/%s not ready: %s; %s" % (self.namespace, self.name, why, message)
        return WaitTimeout(text, timeline=build_timeline(self.name, self.pods), statefulset=self.sts, stuck=ordinal)
