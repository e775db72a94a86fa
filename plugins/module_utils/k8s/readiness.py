# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge a StatefulSet and its pods: is the wait over (one check per wait mode), and if not, why.

Pure functions of the objects and a given time (no client, no clock), unit-tested table by table.
"""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.times import rfc3339_timestamp, timestamp_rfc3339
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import ordinal_range, pod_ordinal

REVISION_LABEL = "controller-revision-hash"


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
        "created": rfc3339_timestamp(meta.get("creationTimestamp")),
        "scheduled": rfc3339_timestamp(scheduled.get("lastTransitionTime")) if scheduled.get("status") == "True" else None,
        "ready": ready.get("status") == "True",
        "ready_since": rfc3339_timestamp(ready.get("lastTransitionTime")) if ready.get("status") == "True" else None,
        "phase": status.get("phase"),
        "revision": (meta.get("labels") or {}).get(REVISION_LABEL),
        "terminating": bool(meta.get("deletionTimestamp")),
        "node": (pod.get("spec") or {}).get("nodeName"),
        "containers": container_states(pod),
    }


# -- progress that the StatefulSet status does not show -----------------------------------------
# The stall timer (rollout.py) restarts whenever the waiter sees progress. The StatefulSet status
# and the pod phase stay still while a kubelet pulls a large image or while a container starts
# under a long startup probe, so the waiter also looks at the container statuses of the pods it
# already watches (no extra watch), in two ways:
#  - forward steps: a container created, started or ready, an init container completed, and a
#    restart that the container's startup probe caused (its previous run lasted the probe's whole
#    budget). Each pod keeps the furthest it got (advance()), so a crash loop, whose containers go
#    running -> terminated -> CrashLoopBackOff -> running, adds nothing after its first run.
#  - work in progress (pod_working()), judged only when the stall timer is about to warn or fire:
#    a container waiting in ContainerCreating/PodInitializing whose kubelet's newest image event is
#    "Pulling" (the pod status carries no pull progress, and ContainerCreating alone also covers
#    mounts and sandboxes that never succeed: FailedMount and Multi-Attach must still stall out),
#    and a running container that its startup probe still allows to start. The image events come
#    from the one Event list the stall diagnosis reads anyway. Startup-probe attempts show only as
#    "Unhealthy" events, the same whether the start is slow or will never succeed; the budget the
#    probe declares (initialDelaySeconds + periodSeconds * failureThreshold, in the pod spec we
#    already hold) is what the kubelet itself enforces, so the waiter follows it instead of
#    counting attempts.
# A failed pull (ErrImagePull, ImagePullBackOff, InvalidImageName) and a container that exits by
# itself are never progress: they still fail at stall_timeout, naming the image or the crash.
PULL_FAILURES = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")
CREATING = ("ContainerCreating", "PodInitializing")
IMAGE_EVENT_DONE = ("Pulled", "Failed", "BackOff", "ErrImageNeverPull", "InspectFailed")


def _startup_budget(probe):
    """(least, most) seconds a kubelet lets a container start under this startup probe, or None."""
    if not probe:
        return None
    delay = probe.get("initialDelaySeconds") or 0
    period = probe.get("periodSeconds") or 10
    failures = probe.get("failureThreshold") or 3
    return delay + period * (failures - 1), delay + period * failures + (probe.get("timeoutSeconds") or 1)


def container_states(pod):
    """Per container (init containers first): the facts the stall timer needs, small enough for 200 pods."""
    spec = pod.get("spec") or {}
    probes = {c.get("name"): c.get("startupProbe") for c in (spec.get("initContainers") or [])
              + (spec.get("containers") or [])}
    status = pod.get("status") or {}
    out = []
    for init, statuses in ((True, status.get("initContainerStatuses")), (False, status.get("containerStatuses"))):
        for container in statuses or []:
            state = container.get("state") or {}
            last = (container.get("lastState") or {}).get("terminated") or {}
            budget = _startup_budget(probes.get(container.get("name")))
            ran = None
            if last.get("startedAt") and last.get("finishedAt"):
                ran = (rfc3339_timestamp(last["finishedAt"]) or 0) - (rfc3339_timestamp(last["startedAt"]) or 0)
            out.append({
                "name": container.get("name"),
                "init": init,
                "image": container.get("image"),
                "waiting": (state.get("waiting") or {}).get("reason") if "waiting" in state else None,
                "running_since": rfc3339_timestamp((state.get("running") or {}).get("startedAt")),
                "completed": (state.get("terminated") or {}).get("exitCode") == 0 if "terminated" in state else False,
                "started": bool(container.get("started")),
                "ready": bool(container.get("ready")),
                "restarts": container.get("restartCount") or 0,
                "startup_budget": budget,
                # Only a run that lasted the probe's whole budget can have been ended by the probe.
                "probe_killed": bool(budget and ran is not None and ran >= budget[0]),
            })
    return tuple(out)


def progress_marks(state):
    """The furthest steps of each container of one pod_state: (created, started, ready, startup-probe restarts)."""
    marks = {}
    for c in state.get("containers") or ():
        created = c["waiting"] not in CREATING or c["restarts"] > 0
        done = c["completed"] if c["init"] else c["ready"]
        marks[(c["init"], c["name"])] = (created, c["started"] or done, done,
                                         c["restarts"] if c["probe_killed"] else 0)
    return marks


def advance(previous, state):
    """``state`` with ``reached``: the furthest its pod got, kept across updates of the same pod (uid)."""
    reached = dict(previous.get("reached") or {}) if previous and previous.get("uid") == state.get("uid") else {}
    for key, marks in progress_marks(state).items():
        reached[key] = tuple(max(a, b) for a, b in zip(reached.get(key, marks), marks))
    state["reached"] = reached
    return state


def _event_time(event):
    return rfc3339_timestamp(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")) or 0


def image_pull_in_progress(events, pod_name, uid, image):
    """Seconds since the kubelet started pulling ``image`` for this pod when no later event ended it, else None."""
    quoted = '"%s"' % image
    started, ended = None, None
    for event in events or []:
        involved = event.get("involvedObject") or {}
        if involved.get("kind") != "Pod" or involved.get("name") != pod_name or \
                involved.get("uid") not in (None, uid) or quoted not in (event.get("message") or ""):
            continue
        when = _event_time(event)
        if event.get("reason") == "Pulling":
            started = when if started is None else max(started, when)
        elif event.get("reason") in IMAGE_EVENT_DONE:
            ended = when if ended is None else max(ended, when)
    if started is None or (ended is not None and ended >= started):
        return None
    return started


def pod_working(state, events, wall_now):
    """What a not-Ready pod is still doing that its status does not show (pulling, starting), or None."""
    if state["ready"] or state["terminating"] or not state["node"]:
        return None
    for c in state.get("containers") or ():
        if c["waiting"] in CREATING:
            since = image_pull_in_progress(events, state["name"], state["uid"], c["image"])
            if since is not None:
                return "pod %s is pulling image %s (for %ds)" % (state["name"], c["image"], max(0, wall_now - since))
        if c["running_since"] is not None and not c["started"] and c["startup_budget"]:
            crashed = c["restarts"] > 0 and not c["probe_killed"]  # exited by itself: a crash loop
            if not crashed and wall_now < c["running_since"] + c["startup_budget"][1]:
                return "pod %s: container %s is starting (running for %ds; its startup probe allows %ds)" % (
                    state["name"], c["name"], max(0, wall_now - c["running_since"]), c["startup_budget"][1])
    return None


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
        rows.append({"ordinal": ordinal, "pod": state["name"], "created": timestamp_rfc3339(state["created"]),
                     "scheduled": timestamp_rfc3339(state["scheduled"]), "ready": timestamp_rfc3339(state["ready_since"]),
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


# -- one check per wait mode ---------------------------------------------------------------------
# Each check is (name, sts or None, pods name -> pod_state, wall-clock now) -> (done, why-not,
# next_wakeup); next_wakeup is the wall-clock time the answer may change without an event.
def _own_pods(name, pods):
    return sorted(p for p in pods if pod_ordinal(p, name) is not None)  # named <name>-<ordinal>


def rollout_complete(name, sts, pods, wall_now):
    """Mode "ready": the status says ready and no pod beyond the wanted ordinals is left, or the
    pods themselves say so first (their events arrive before the controller updates the status)."""
    if sts is None:
        return False, "StatefulSet was deleted", None
    ok, why = statefulset_status_ready(sts)
    if ok and not [s for s in pods.values()
                   if pod_ordinal(s["name"], name) not in ordinal_range(sts)
                   and pod_ordinal(s["name"], name) is not None]:
        return True, why, None
    ok, why, wakeup = pods_ready(sts, pods, wall_now)
    if ok and (sts.get("status") or {}).get("replicas", 0) <= sts["spec"].get("replicas", 1):
        return True, why, None
    return False, why, wakeup


def statefulset_gone(name, sts, pods, wall_now):
    """Mode "gone": the StatefulSet object no longer exists (its pods may still be terminating)."""
    return sts is None, "StatefulSet still exists", None


def own_pods_gone(name, sts, pods, wall_now):
    """Mode "deleted-pods": no pod of the StatefulSet is left (scaled to zero before a delete)."""
    left = _own_pods(name, pods)
    return not left, "pods %s still exist" % ", ".join(left), None


def statefulset_and_pods_gone(name, sts, pods, wall_now):
    """Mode "deleted": neither the StatefulSet nor any of its pods exists (an orphaning delete leaves pods)."""
    return sts is None and not _own_pods(name, pods), "StatefulSet or its pods still exist", None


WAIT_CHECKS = {
    "ready": rollout_complete,
    "gone": statefulset_gone,
    "deleted-pods": own_pods_gone,
    "deleted": statefulset_and_pods_gone,
}


# -- why a pod is not Ready ----------------------------------------------------------------------
def events_for(events, kind, name):
    """The events about one object, newest first."""
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
    for event in events_for(events, "PersistentVolumeClaim", name):
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
        for event in events_for(sts_events, "StatefulSet", None) or (sts_events or []):
            if event.get("reason") in ("FailedCreate", "FailedDelete") or event.get("type") == "Warning":
                return "FailedCreate", "pod %s was not created: %s" % (pod_name, event.get("message"))
        return "NotCreated", "pod %s has not been created yet" % pod_name
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating", "pod %s is terminating" % name
    uid = (pod.get("metadata") or {}).get("uid")
    # Events of an earlier pod of the same name (deleted and re-created) are not this pod's.
    pod_events = [e for e in events_for(events, "Pod", name)
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
        if reason in PULL_FAILURES:
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
