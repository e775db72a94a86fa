"""The stall timer over virtual time: slow pulls and startup-probe restarts are progress, failed pulls
and crash loops are not (no network; minutes of waiting take a fraction of a second)."""
import queue

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.times import timestamp_rfc3339
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import rollout
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.rollout import RolloutWaiter, WaitTimeout
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import (
    ScriptedWatchClient,
    event,
    listing,
    pod,
    statefulset,
)

BASE = 1767225600.0  # 2026-01-01T00:00:00Z
IMAGE = "registry.example/mariadb:11.8"
PROBE = {"exec": {"command": ["mariadb-admin", "ping"]}, "periodSeconds": 10, "failureThreshold": 30}


def at(seconds):
    return timestamp_rfc3339(BASE + seconds)


class VirtualTime:
    """Clocks that move only when the waiter would block, and pod/StatefulSet events due at virtual times.

    Stands in for the waiter's queue: what the watch threads put (the initial lists) arrives as usual;
    once both lists arrived, an empty get() jumps the clocks to the next scheduled event or by its timeout.
    """

    def __init__(self, schedule):
        self.now = BASE
        self.schedule = sorted(schedule, key=lambda row: row[0])
        self.clock = self  # monotonic() and wall() read the same virtual time
        outer = self

        class Queue(queue.Queue):
            synced = 0

            def get(self, timeout=None):
                if Queue.synced < 2:
                    item = queue.Queue.get(self, timeout=5)
                    Queue.synced += item[0] == "sync"
                    return item
                try:
                    return queue.Queue.get(self, block=False)
                except queue.Empty:
                    pass
                if outer.schedule and BASE + outer.schedule[0][0] <= outer.now + timeout:
                    due, item = outer.schedule.pop(0)
                    outer.now = max(outer.now, BASE + due)
                    return item
                outer.now += timeout
                raise queue.Empty

        self.Queue = Queue
        self.Empty = queue.Empty

    def time(self):
        return self.now

    def elapsed(self):
        return self.now - BASE


def waiter(monkeypatch, vt, client, logs, **kwargs):
    monkeypatch.setattr(rollout, "queue", vt)
    return RolloutWaiter(client, "ns", "db", log=logs.append, clock=vt.time, wall=vt.time, **kwargs)


def container(state, restarts=0, started=False, ready=False, last=None):
    status = {"name": "mysql", "image": IMAGE, "state": state, "restartCount": restarts, "started": started,
              "ready": ready}
    if last:
        status["lastState"] = {"terminated": last}
    return status


def db0(*containers, ready=False, phase="Running", probe=None):
    obj = pod("db-0", ready=ready, phase=phase, containers=list(containers), ready_at=at(1))
    if probe:
        obj["spec"]["containers"] = [{"name": "mysql", "image": IMAGE, "startupProbe": probe}]
    return obj


def pod_update(seconds, obj):
    return seconds, ("event", "Pod", "MODIFIED", obj)


def sts_ready(seconds):
    return seconds, ("event", "StatefulSet", "MODIFIED", statefulset(replicas=1))


def image_event(reason, message, seconds, type_="Normal"):
    found = event("Pod", "db-0", reason, message, type_=type_)
    found["involvedObject"]["uid"] = "uid-db-0"
    found["lastTimestamp"] = at(seconds)
    return found


def scripted(pods, events=(), current=None):
    return ScriptedWatchClient(
        lists={"StatefulSet": [listing([statefulset(replicas=1, ready=0, available=0)])], "Pod": [listing(pods)],
               "Event": [listing(list(events))]},
        streams={"StatefulSet": [], "Pod": []},
        objects={("Pod", "db-0"): current or pods[0]})


def test_a_four_minute_pull_succeeds_with_the_default_timeouts(monkeypatch):
    creating = db0(container({"waiting": {"reason": "ContainerCreating"}}), phase="Pending")
    vt = VirtualTime([pod_update(240, db0(container({"running": {"startedAt": at(240)}}, started=True, ready=True),
                                          ready=True)),
                      sts_ready(241)])
    logs = []
    client = scripted([creating], [image_event("Pulling", 'Pulling image "%s"' % IMAGE, 1)])
    result = waiter(monkeypatch, vt, client, logs, wait_timeout=600, stall_timeout=180).wait()
    assert 240 <= vt.elapsed() < 250
    assert result.warnings == []
    assert any("pod db-0 is pulling image %s" % IMAGE in line for line in logs)


def test_creating_without_a_pull_still_stalls_out_naming_the_mount(monkeypatch):
    creating = db0(container({"waiting": {"reason": "ContainerCreating"}}), phase="Pending")
    vt = VirtualTime([pod_update(240, db0(container({"running": {}}, started=True, ready=True), ready=True)),
                      sts_ready(241)])
    client = scripted([creating], [image_event("Pulling", 'Pulling image "%s"' % IMAGE, 1),
                                   image_event("Pulled", 'Successfully pulled image "%s" in 2s' % IMAGE, 3),
                                   image_event("FailedMount", "MountVolume.SetUp failed for volume \"data\"", 5,
                                               type_="Warning")])
    with pytest.raises(WaitTimeout) as caught:
        waiter(monkeypatch, vt, client, [], wait_timeout=600, stall_timeout=180).wait()
    assert 180 <= vt.elapsed() < 181
    assert "stuck at ordinal 0: pod db-0: MountVolume.SetUp failed" in caught.value.msg


def test_a_failing_pull_fails_at_stall_timeout_naming_the_image_while_the_kubelet_retries(monkeypatch):
    backoff = db0(container({"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "%s"' % IMAGE}}),
                  phase="Pending")
    # The kubelet keeps retrying: its newest image event is a "Pulling" again, but the status says back-off.
    events = [image_event("Pulling", 'Pulling image "%s"' % IMAGE, 1),
              image_event("Failed", 'Failed to pull image "%s": not found' % IMAGE, 2, type_="Warning"),
              image_event("Pulling", 'Pulling image "%s"' % IMAGE, 30)]
    vt = VirtualTime([sts_ready(400)])
    with pytest.raises(WaitTimeout) as caught:
        waiter(monkeypatch, vt, scripted([backoff], events), [], wait_timeout=600, stall_timeout=180).wait()
    assert 180 <= vt.elapsed() < 181
    assert "no progress for stall_timeout (180s)" in caught.value.msg
    assert "image %s cannot be pulled (ImagePullBackOff)" % IMAGE in caught.value.msg


def test_restarts_under_a_long_startup_probe_are_progress(monkeypatch):
    # The startup probe allows 300 s; the first run is killed by it, the second one starts.
    killed = {"exitCode": 137, "reason": "Error", "startedAt": at(0), "finishedAt": at(300)}
    vt = VirtualTime([
        pod_update(300, db0(container({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=1, last=killed),
                            probe=PROBE)),
        pod_update(310, db0(container({"running": {"startedAt": at(310)}}, restarts=1, last=killed), probe=PROBE)),
        pod_update(520, db0(container({"running": {"startedAt": at(310)}}, restarts=1, last=killed, started=True,
                                      ready=True), ready=True, probe=PROBE)),
        sts_ready(521)])
    starting = db0(container({"running": {"startedAt": at(0)}}), probe=PROBE)
    logs = []
    result = waiter(monkeypatch, vt, scripted([starting]), logs, wait_timeout=600, stall_timeout=180).wait()
    assert 520 <= vt.elapsed() < 530
    assert result.warnings == []
    assert any("container mysql is starting" in line for line in logs)


def test_a_crash_loop_under_a_startup_probe_still_fails_as_a_crash_loop(monkeypatch):
    schedule, t, restarts = [], 0, 0
    for backoff in (10, 20, 40, 80, 160, 300):
        crashed = {"exitCode": 1, "reason": "Error", "startedAt": at(t), "finishedAt": at(t + 2),
                   "message": "[ERROR] unknown variable 'no_such_option=1'"}
        restarts += 1
        schedule.append(pod_update(t + 2, db0(container({"waiting": {"reason": "CrashLoopBackOff"}},
                                                        restarts=restarts, last=crashed), probe=PROBE)))
        t += 2 + backoff
        schedule.append(pod_update(t, db0(container({"running": {"startedAt": at(t)}}, restarts=restarts,
                                                    last=crashed), probe=PROBE)))
    vt = VirtualTime(schedule)
    current = schedule[-1][1][3]
    starting = db0(container({"running": {"startedAt": at(0)}}), probe=PROBE)
    with pytest.raises(WaitTimeout) as caught:
        waiter(monkeypatch, vt, scripted([starting], current=current), [], wait_timeout=600,
               stall_timeout=180).wait()
    assert vt.elapsed() <= 181
    assert "container mysql keeps restarting" in caught.value.msg
    assert "unknown variable 'no_such_option=1'" in caught.value.msg
