"""Readiness checks, the check of each wait mode, ordering, stuck-ordinal choice and stall diagnostics (pure, no network)."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.times import rfc3339_timestamp
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.readiness import (
    WAIT_CHECKS,
    advance,
    build_timeline,
    diagnose_pod,
    diagnose_pvc,
    events_for,
    order_violations,
    pod_state,
    pod_working,
    pods_ready,
    statefulset_status_ready,
    stuck_ordinal,
)
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import event, pod, statefulset

STATUS_CASES = [
    # (id, statefulset kwargs, done, reason fragment)
    ("all ready", {}, True, "ready"),
    ("generation not observed", {"generation": 2, "observed": 1}, False, "not observed generation 2"),
    ("scale-out in progress", {"status_replicas": 2, "ready": 2, "available": 2, "updated": 2}, False,
     "2 pod(s) exist, 3 wanted"),
    ("scale-in in progress", {"replicas": 1, "status_replicas": 3, "ready": 3}, False, "3 pod(s) exist, 1 wanted"),
    ("scale-in done", {"replicas": 1}, True, "ready"),
    ("scaled to zero", {"replicas": 0}, True, "ready"),
    ("one not ready", {"ready": 2, "available": 2}, False, "2 of 3 pod(s) ready"),
    ("minReadySeconds not elapsed", {"min_ready": 30, "available": 2}, False, "2 of 3 pod(s) available"),
    ("minReadySeconds elapsed", {"min_ready": 30}, True, "ready"),
    ("rolling update: pods updated, revision not switched", {"current": "r1", "update": "r2"}, False,
     "rolling update to revision r2"),
    ("rolling update: 1 of 3 updated", {"updated": 1, "current": "r1", "update": "r2"}, False,
     "1 of 3 pod(s) updated"),
    ("partition 2: ordinal 2 updated is complete", {"partition": 2, "updated": 1, "current": "r1", "update": "r2"},
     True, "ready"),
    ("partition 1: only ordinal 2 updated", {"partition": 1, "updated": 1, "current": "r1", "update": "r2"}, False,
     "1 of 2 pod(s) at ordinals >= partition 1 updated"),
    ("partition beyond replicas: nothing to update", {"partition": 5, "updated": 0, "current": "r1", "update": "r2"},
     True, "ready"),
    ("OnDelete: old revision pods are fine",
     {"strategy": "OnDelete", "updated": 0, "current": "r1", "update": "r2"}, True, "ready"),
    ("OnDelete: still needs ready pods", {"strategy": "OnDelete", "ready": 1, "available": 1}, False,
     "1 of 3 pod(s) ready"),
]


@pytest.mark.parametrize("case,kwargs,done,fragment", STATUS_CASES, ids=[c[0] for c in STATUS_CASES])
def test_statefulset_status_ready(case, kwargs, done, fragment):
    ok, why = statefulset_status_ready(statefulset(**kwargs))
    assert ok is done
    assert fragment in why


def states(*pods):
    return {p["metadata"]["name"]: pod_state(p) for p in pods}


READY_AT = rfc3339_timestamp("2026-01-01T00:00:05Z")

POD_CASES = [
    ("all ready, same revision", {}, [pod("db-0"), pod("db-1"), pod("db-2")], True, "ready"),
    ("missing ordinal", {}, [pod("db-0"), pod("db-2")], False, "db-1 does not exist"),
    ("not ready", {}, [pod("db-0"), pod("db-1", ready=False), pod("db-2")], False, "db-1 is not ready"),
    ("terminating", {}, [pod("db-0"), pod("db-1", terminating=True), pod("db-2")], False, "terminating"),
    ("scale-in: extra ordinal left", {"replicas": 2}, [pod("db-0"), pod("db-1"), pod("db-2")], False,
     "db-2 (outside the wanted ordinals)"),
    ("rolling: stale revision", {"update": "r2"}, [pod("db-0"), pod("db-1"), pod("db-2")], False,
     "not at revision r2"),
    ("partition 2: only db-2 must be updated", {"update": "r2", "partition": 2},
     [pod("db-0"), pod("db-1"), pod("db-2", revision="r2")], True, "ready"),
    ("partition 1: db-1 stale", {"update": "r2", "partition": 1},
     [pod("db-0"), pod("db-1"), pod("db-2", revision="r2")], False, "db-1 is not at revision r2"),
    ("OnDelete ignores revisions", {"update": "r2", "strategy": "OnDelete"},
     [pod("db-0"), pod("db-1"), pod("db-2")], True, "ready"),
    ("generation not observed", {"generation": 3, "observed": 2}, [pod("db-0")], False, "generation"),
    ("other pods are ignored", {"replicas": 1}, [pod("db-0"), pod("web-5")], True, "ready"),
]


@pytest.mark.parametrize("case,kwargs,pods,done,fragment", POD_CASES, ids=[c[0] for c in POD_CASES])
def test_pods_ready(case, kwargs, pods, done, fragment):
    ok, why, _wake = pods_ready(statefulset(**kwargs), states(*pods), READY_AT + 3600)
    assert ok is done
    assert fragment in why


def test_pods_ready_waits_for_min_ready_seconds_and_says_when_to_wake():
    sts = statefulset(replicas=2, min_ready=10)
    ok, why, wake = pods_ready(sts, states(pod("db-0"), pod("db-1")), READY_AT + 4)
    assert not ok and "minReadySeconds" in why
    assert wake == READY_AT + 10
    ok, _why, wake = pods_ready(sts, states(pod("db-0"), pod("db-1")), READY_AT + 10)
    assert ok and wake is None


ORDER_CASES = [
    ("in order", "OrderedReady", [pod("db-0", created="2026-01-01T00:00:00Z", ready_at="2026-01-01T00:00:02Z"),
                                  pod("db-1", created="2026-01-01T00:00:03Z", ready_at="2026-01-01T00:00:04Z")], []),
    ("db-1 created before db-0 ready", "OrderedReady",
     [pod("db-0", created="2026-01-01T00:00:00Z", ready_at="2026-01-01T00:00:09Z"),
      pod("db-1", created="2026-01-01T00:00:03Z", ready_at="2026-01-01T00:00:10Z")],
     ["pod db-1 was created before db-0 was Ready"]),
    ("Parallel has no order", "Parallel",
     [pod("db-0", created="2026-01-01T00:00:00Z", ready_at="2026-01-01T00:00:09Z"),
      pod("db-1", created="2026-01-01T00:00:03Z", ready_at="2026-01-01T00:00:10Z")], []),
]


@pytest.mark.parametrize("case,policy,pods,expected", ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_order_violations(case, policy, pods, expected):
    assert order_violations(statefulset(replicas=2, policy=policy), states(*pods)) == expected


STUCK_CASES = [
    ("lowest not ready under OrderedReady", {}, [pod("db-0"), pod("db-1", ready=False)], 1),
    ("missing ordinal", {}, [pod("db-0"), pod("db-1")], 2),
    ("scale-in: highest extra ordinal", {"replicas": 1}, [pod("db-0"), pod("db-1"), pod("db-2")], 2),
    ("rolling update goes from the top", {"update": "r2"}, [pod("db-0"), pod("db-1"), pod("db-2")], 2),
    ("nothing stuck", {}, [pod("db-0"), pod("db-1"), pod("db-2")], None),
]


@pytest.mark.parametrize("case,kwargs,pods,expected", STUCK_CASES, ids=[c[0] for c in STUCK_CASES])
def test_stuck_ordinal(case, kwargs, pods, expected):
    assert stuck_ordinal(statefulset(**kwargs), states(*pods)) == expected


def waiting(reason, message="", **extra):
    status = {"name": "db", "image": "mariadb:nope", "state": {"waiting": {"reason": reason, "message": message}}}
    status.update(extra)
    return [status]


def pvc(name, phase="Pending", storage_class=None):
    spec = {"storageClassName": storage_class} if storage_class is not None else {}
    return {"metadata": {"name": name}, "spec": spec, "status": {"phase": phase}}


def oom_pod(limit, init=False, waiting_reason=None):
    """A pod whose server (or init) container was OOMKilled and restarted three times."""
    name = "init-datadir" if init else "mysql"
    state = {"waiting": {"reason": waiting_reason}} if waiting_reason else {"running": {}}
    status = {"name": name, "image": "mariadb:11.8", "ready": False, "restartCount": 3, "state": state,
              "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
    p = pod("db-0", ready=False, phase="Pending" if init else "Running")
    container = {"name": name, "resources": {"limits": {"memory": limit}} if limit else {}}
    p["spec"]["initContainers" if init else "containers"] = [container]
    p["status"]["initContainerStatuses" if init else "containerStatuses"] = [status]
    return p


DEFAULT_SC = {"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}
PLAIN_SC = {"metadata": {"name": "slow"}}
UNSCHEDULED = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory."}]

DIAGNOSE_CASES = [
    ("PVC without StorageClass and no default",
     dict(pod=pod("db-0", ready=False, phase="Pending", scheduled=False, conditions=UNSCHEDULED),
          pvcs=[pvc("data-db-0")], storage_classes=[PLAIN_SC]),
     "PVCPending", "names no StorageClass and the cluster has no default StorageClass"),
    ("PVC with a StorageClass that does not exist",
     dict(pod=pod("db-0", ready=False, phase="Pending", scheduled=False, conditions=UNSCHEDULED),
          pvcs=[pvc("data-db-0", storage_class="fast")], storage_classes=[DEFAULT_SC]),
     "PVCPending", "StorageClass 'fast' does not exist"),
    ("PVC with no PV for the empty class",
     dict(pod=pod("db-0", ready=False, phase="Pending", scheduled=False, conditions=UNSCHEDULED),
          pvcs=[pvc("data-db-0", storage_class="")], storage_classes=[DEFAULT_SC]),
     "PVCPending", "no PersistentVolume matches it"),
    ("PVC binding failure event",
     dict(pod=pod("db-0", ready=False, phase="Pending", scheduled=False, conditions=UNSCHEDULED),
          pvcs=[pvc("data-db-0", storage_class="standard")], storage_classes=[DEFAULT_SC],
          events=[event("PersistentVolumeClaim", "data-db-0", "ProvisioningFailed", "no space left")]),
     "PVCPending", "ProvisioningFailed: no space left"),
    ("unschedulable with bound claims",
     dict(pod=pod("db-0", ready=False, phase="Pending", scheduled=False, conditions=UNSCHEDULED),
          pvcs=[pvc("data-db-0", phase="Bound")]),
     "Unschedulable", "Insufficient memory"),
    ("ImagePullBackOff",
     dict(pod=pod("db-0", ready=False, phase="Pending", containers=waiting("ImagePullBackOff", "Back-off pulling"))),
     "ImagePull", "image mariadb:nope cannot be pulled (ImagePullBackOff)"),
    ("ErrImagePull",
     dict(pod=pod("db-0", ready=False, phase="Pending", containers=waiting("ErrImagePull", "not found"))),
     "ImagePull", "(ErrImagePull): not found"),
    ("CrashLoopBackOff",
     dict(pod=pod("db-0", ready=False, containers=waiting(
         "CrashLoopBackOff", restartCount=4, lastState={"terminated": {"exitCode": 1, "reason": "Error"}}))),
     "CrashLoopBackOff", "crash-looping (4 restarts, last exit code 1, Error)"),
    ("CrashLoopBackOff says the server's last error (termination message from the log)",
     dict(pod=pod("db-0", ready=False, containers=waiting(
         "CrashLoopBackOff", restartCount=2, lastState={"terminated": {
             "exitCode": 7, "reason": "Error",
             "message": "2026-01-01 0 [Note] Starting\n2026-01-01 0 [ERROR] mariadbd: unknown variable "
                        "'no_such_option=1'\n2026-01-01 0 [ERROR] Aborting\n"}}))),
     "CrashLoopBackOff", "last exit code 7, Error); it said: 2026-01-01 0 [ERROR] mariadbd: unknown variable 'no_such_option=1'"),
    ("restarted after a crash, running again but not ready: still the crash loop",
     dict(pod=pod("db-0", ready=False, containers=[{
         "name": "mysql", "ready": False, "restartCount": 1, "state": {"running": {}},
         "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": "[ERROR] bad option\n"}}}])),
     "CrashLoopBackOff", "container mysql keeps restarting (1 restarts, last exit code 1, Error); it said: [ERROR] bad"),
    ("OOMKilled while crash-looping names the memory limit",
     dict(pod=oom_pod(limit="32Mi", waiting_reason="CrashLoopBackOff")),
     "OOMKilled", "container mysql ran out of memory and was killed (OOMKilled, 3 restarts, memory limit 32Mi)"),
    ("OOMKilled init container, restarted and running again",
     dict(pod=oom_pod(limit=None, init=True)),
     "OOMKilled", "container init-datadir ran out of memory and was killed (OOMKilled, 3 restarts, no memory limit set)"),
    ("failing startup probe (event)",
     dict(pod=pod("db-0", ready=False),
          events=[event("Pod", "db-0", "Unhealthy", "Startup probe failed: mysqld is not running\n")]),
     "StartupProbe", "startup probe failing: Startup probe failed: mysqld is not running"),
    ("events of an earlier pod of the same name are ignored",
     dict(pod=pod("db-0", ready=False),
          events=[dict(event("Pod", "db-0", "Unhealthy", "Readiness probe failed: old"),
                       involvedObject={"kind": "Pod", "name": "db-0", "uid": "uid-of-a-deleted-pod"})]),
     "ReadinessProbe", "Running but not Ready"),
    ("failing readiness probe (event)",
     dict(pod=pod("db-0", ready=False), events=[event("Pod", "db-0", "Unhealthy", "Readiness probe failed: refused")]),
     "ReadinessProbe", "readiness probe failing: Readiness probe failed: refused"),
    ("running but not ready (conditions only)",
     dict(pod=pod("db-0", ready=False)), "ReadinessProbe", "Running but not Ready"),
    ("Multi-Attach",
     dict(pod=pod("db-0", ready=False, phase="Pending"),
          events=[event("Pod", "db-0", "FailedAttachVolume",
                        "Multi-Attach error for volume \"pvc-1\" Volume is already used by pod(s) db-9")]),
     "MultiAttach", "Multi-Attach error for volume"),
    ("pod not created, controller event",
     dict(pod=None, pod_name="db-1", sts_events=[event("StatefulSet", "db", "FailedCreate", "exceeded quota")]),
     "FailedCreate", "pod db-1 was not created: exceeded quota"),
    ("pod not created yet", dict(pod=None, pod_name="db-1"), "NotCreated", "db-1 has not been created"),
]


@pytest.mark.parametrize("case,kwargs,reason,fragment", DIAGNOSE_CASES, ids=[c[0] for c in DIAGNOSE_CASES])
def test_diagnose_pod(case, kwargs, reason, fragment):
    got_reason, message = diagnose_pod(**kwargs)
    assert got_reason == reason
    assert fragment in message


def test_diagnose_pvc_bound_is_fine():
    assert diagnose_pvc(pvc("data-db-0", phase="Bound"), [], []) is None


def test_timeline_sorted_by_ordinal_with_times():
    rows = build_timeline("db", states(pod("db-10"), pod("db-2"), pod("other-0")))
    assert [r["ordinal"] for r in rows] == [2, 10]
    assert rows[0] == {"ordinal": 2, "pod": "db-2", "created": "2026-01-01T00:00:00Z",
                       "scheduled": "2026-01-01T00:00:00Z", "ready": "2026-01-01T00:00:05Z", "node": "node-0"}


def test_events_for_keeps_one_objects_events_newest_first():
    older = dict(event("Pod", "db-0", "Pulling", "pulling"), lastTimestamp="2026-01-01T00:00:01Z")
    newer = event("Pod", "db-0", "Unhealthy", "probe failed")
    other = event("Pod", "db-1", "Unhealthy", "probe failed")
    assert events_for([older, other, newer], "Pod", "db-0") == [newer, older]


# -- one check per wait mode -----------------------------------------------------------------------
def test_the_wait_modes_are_the_ones_the_lifecycle_uses():
    assert sorted(WAIT_CHECKS) == ["deleted", "deleted-pods", "gone", "ready"]


THREE_READY = [pod("db-0"), pod("db-1"), pod("db-2")]

WAIT_MODE_CASES = [
    # (id, mode, statefulset or None, pods, now, (done, why fragment, next wakeup))
    ("ready: status and pods ready", "ready", statefulset(), THREE_READY, READY_AT, (True, "ready", None)),
    ("ready: the StatefulSet was deleted", "ready", None, THREE_READY, READY_AT,
     (False, "StatefulSet was deleted", None)),
    ("ready: pods ready before the status says so", "ready", statefulset(ready=2, available=2), THREE_READY,
     READY_AT, (True, "ready", None)),
    ("ready: neither status nor pods ready", "ready", statefulset(ready=2, available=2),
     [pod("db-0"), pod("db-1", ready=False), pod("db-2")], READY_AT, (False, "db-1 is not ready", None)),
    ("ready: status ready but a scaled-in pod is left", "ready", statefulset(replicas=2), THREE_READY, READY_AT,
     (False, "db-2 (outside the wanted ordinals)", None)),
    ("ready: pods ready but the status still counts the scaled-in pods", "ready",
     statefulset(replicas=1, status_replicas=3, ready=3), [pod("db-0")], READY_AT, (False, "ready", None)),
    ("ready: minReadySeconds says when to look again", "ready", statefulset(min_ready=10, available=0),
     THREE_READY, READY_AT + 4, (False, "minReadySeconds", READY_AT + 10)),
    ("gone: the StatefulSet is gone, its pods may remain", "gone", None, THREE_READY, READY_AT,
     (True, "", None)),
    ("gone: the StatefulSet still exists", "gone", statefulset(replicas=0), [], READY_AT,
     (False, "StatefulSet still exists", None)),
    ("deleted-pods: none of its pods left (other pods do not count)", "deleted-pods", statefulset(replicas=0),
     [pod("web-0")], READY_AT, (True, "", None)),
    ("deleted-pods: pods left", "deleted-pods", statefulset(replicas=0), [pod("db-1"), pod("db-0")], READY_AT,
     (False, "pods db-0, db-1 still exist", None)),
    ("deleted: StatefulSet and pods gone", "deleted", None, [pod("web-0")], READY_AT, (True, "", None)),
    ("deleted: an orphaned pod is left", "deleted", None, [pod("db-0")], READY_AT,
     (False, "StatefulSet or its pods still exist", None)),
    ("deleted: the StatefulSet is left", "deleted", statefulset(replicas=0), [], READY_AT,
     (False, "StatefulSet or its pods still exist", None)),
]


@pytest.mark.parametrize("case,mode,sts,pods,now,expected", WAIT_MODE_CASES, ids=[c[0] for c in WAIT_MODE_CASES])
def test_wait_mode_checks(case, mode, sts, pods, now, expected):
    done, why, wakeup = WAIT_CHECKS[mode]("db", sts, states(*pods), now)
    assert done is expected[0]
    assert expected[1] in why
    assert wakeup == expected[2]


# -- progress the status does not show (pure) ----------------------------------------------------
def _starting_pod(restarts=0, ran=None, started=False, state=None):
    probe = {"periodSeconds": 10, "failureThreshold": 30}
    status = {"name": "mysql", "image": "mariadb:11.8", "restartCount": restarts, "started": started,
              "state": state or {"running": {"startedAt": "2026-01-01T00:10:00Z"}}}
    if ran is not None:
        status["lastState"] = {"terminated": {"exitCode": 137, "startedAt": "2026-01-01T00:00:00Z",
                                              "finishedAt": "2026-01-01T00:%02d:%02dZ" % divmod(ran, 60)}}
    obj = pod("db-0", ready=False, containers=[status])
    obj["spec"]["containers"] = [{"name": "mysql", "startupProbe": probe}]
    return obj


WORKING_CASES = [
    # (id, pod, seconds after the run started, working fragment or None)
    ("first run inside the startup budget", _starting_pod(), 200, "container mysql is starting"),
    ("first run past the startup budget", _starting_pod(), 400, None),
    ("restarted by its startup probe", _starting_pod(restarts=1, ran=300), 100, "container mysql is starting"),
    ("crashed by itself: a crash loop", _starting_pod(restarts=1, ran=2), 1, None),
    ("started: the probe passed", _starting_pod(started=True), 10, None),
    ("no startup probe", pod("db-0", ready=False, containers=[{"name": "mysql", "state": {"running": {}}}]), 10, None),
]


@pytest.mark.parametrize("case,obj,after,expected", WORKING_CASES, ids=[c[0] for c in WORKING_CASES])
def test_pod_working_under_a_startup_probe(case, obj, after, expected):
    working = pod_working(pod_state(obj), [], rfc3339_timestamp("2026-01-01T00:10:00Z") + after)
    assert (working is None) if expected is None else (expected in working)


def test_pod_working_pulling_only_until_an_image_event_ends_it():
    obj = pod("db-0", ready=False, phase="Pending", containers=[
        {"name": "mysql", "image": "mariadb:11.8", "state": {"waiting": {"reason": "ContainerCreating"}}}])
    pulling = event("Pod", "db-0", "Pulling", 'Pulling image "mariadb:11.8"', type_="Normal")
    pulled = dict(event("Pod", "db-0", "Pulled", 'Successfully pulled image "mariadb:11.8"', type_="Normal"),
                  lastTimestamp="2026-01-01T00:00:20Z")
    other_pod = dict(pulling, involvedObject={"kind": "Pod", "name": "db-0", "uid": "an-earlier-db-0"})
    now = rfc3339_timestamp("2026-01-01T00:01:10Z")
    assert pod_working(pod_state(obj), [pulling], now) == "pod db-0 is pulling image mariadb:11.8 (for 60s)"
    assert pod_working(pod_state(obj), [pulling, pulled], now) is None
    assert pod_working(pod_state(obj), [other_pod], now) is None
    assert pod_working(pod_state(obj), [], now) is None


def test_advance_keeps_the_furthest_step_so_a_crash_loop_is_no_progress():
    running = advance(None, pod_state(_starting_pod(started=True)))
    crashed = advance(running, pod_state(_starting_pod(restarts=1, ran=2, state={"waiting": {"reason": "CrashLoopBackOff"}})))
    assert crashed["reached"] == running["reached"]
    probe_killed = advance(running, pod_state(_starting_pod(restarts=1, ran=300)))
    assert probe_killed["reached"] != running["reached"]  # a restart the startup probe caused
    other_uid = pod_state(_starting_pod())
    other_uid["uid"] = "uid-new"
    assert advance(running, other_uid)["reached"][(False, "mysql")] == (True, False, False, 0)
