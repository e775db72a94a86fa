"""The rollout waiter over a scripted watch client: ends on the right event, names the stuck ordinal (no network)."""

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import rollout
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError, K8sUnreachableError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.rollout import RolloutWaiter, WaitTimeout
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import (
    ScriptedWatchClient,
    event,
    listing,
    pod,
    statefulset,
)


def test_waiter_finishes_on_the_event_that_makes_it_ready_and_resumes_dropped_watches():
    not_ready = statefulset(replicas=2, ready=1, available=1, status_replicas=1, updated=1)
    ready = statefulset(replicas=2)
    pod1 = pod("db-1")
    pod1["metadata"]["resourceVersion"] = "7"
    client = ScriptedWatchClient(
        lists={"StatefulSet": [listing([not_ready])],
               # initial list, re-list after 410, and (if the status wins the race) the final refresh
               "Pod": [listing([pod("db-0")]), listing([pod("db-0")]), listing([pod("db-0"), pod1])]},
        streams={
            # The StatefulSet watch drops once (apiserver restart), then delivers the ready status.
            "StatefulSet": [K8sUnreachableError("connection refused"),
                            [{"type": "MODIFIED", "object": ready}]],
            # The pod watch gets 410 Gone, re-lists, then sees db-1 become ready.
            "Pod": [K8sApiError("too old", status=410), [{"type": "ADDED", "object": pod1}]],
        })
    result = RolloutWaiter(client, "ns", "db", wait_timeout=10, stall_timeout=0).wait()
    assert [row["pod"] for row in result.timeline] == ["db-0", "db-1"]
    assert result.wait_seconds < 5
    assert client.list_calls.count("Pod") >= 2  # initial list + re-list after 410
    assert ("StatefulSet", "1") in client.watch_calls  # resumed from the listed resourceVersion
    assert result.watch_resumes == 2  # one reconnect, one re-list


def test_waiter_stall_names_the_stuck_ordinal():
    stuck = statefulset(replicas=2, ready=1, available=1)
    client = ScriptedWatchClient(
        lists={"StatefulSet": [listing([stuck])], "Pod": [listing([pod("db-0"), pod("db-1", ready=False)])],
               "Event": [listing([event("Pod", "db-1", "Unhealthy", "Readiness probe failed: connection refused")])]},
        streams={"StatefulSet": [], "Pod": []},
        objects={("Pod", "db-1"): pod("db-1", ready=False)})
    with pytest.raises(WaitTimeout) as caught:
        RolloutWaiter(client, "ns", "db", wait_timeout=30, stall_timeout=0.4).wait()
    assert caught.value.stuck == 1
    assert "stuck at ordinal 1" in caught.value.msg
    assert "no progress for stall_timeout" in caught.value.msg
    assert "readiness probe failing: Readiness probe failed: connection refused" in caught.value.msg


def test_waiter_fails_fast_when_statefulset_missing():
    client = ScriptedWatchClient(lists={"StatefulSet": [listing([])], "Pod": [listing([])]},
                                 streams={"StatefulSet": [], "Pod": []})
    with pytest.raises(rollout.K8sError, match="does not exist"):
        RolloutWaiter(client, "ns", "db", wait_timeout=5).wait()


def test_waiter_until_gone():
    client = ScriptedWatchClient(
        lists={"StatefulSet": [listing([statefulset(replicas=0)])], "Pod": [listing([])]},
        streams={"StatefulSet": [[{"type": "DELETED", "object": statefulset(replicas=0)}]], "Pod": []})
    result = RolloutWaiter(client, "ns", "db", wait_timeout=5, stall_timeout=0).wait("gone")
    assert result.statefulset is None


def test_an_unknown_wait_mode_is_refused_before_anything_is_read():
    client = ScriptedWatchClient(lists={}, streams={})
    with pytest.raises(ValueError, match="until must be one of deleted, deleted-pods, gone, ready, not 'bogus'"):
        RolloutWaiter(client, "ns", "db", wait_timeout=5).wait("bogus")
    assert client.request_count == 0


def test_waiter_until_deleted_waits_for_orphaned_pods():
    client = ScriptedWatchClient(
        lists={"StatefulSet": [listing([])], "Pod": [listing([pod("db-0")])]},
        streams={"StatefulSet": [], "Pod": [[{"type": "DELETED", "object": pod("db-0")}]]})
    result = RolloutWaiter(client, "ns", "db", wait_timeout=5, stall_timeout=0).wait("deleted")
    assert result.statefulset is None and result.timeline == []
    assert client.list_calls == ["StatefulSet", "Pod"]


def test_waiter_wait_timeout_names_the_stuck_ordinal_and_the_status():
    stuck = statefulset(replicas=2, ready=1, available=1)
    client = ScriptedWatchClient(
        lists={"StatefulSet": [listing([stuck])], "Pod": [listing([pod("db-0")])], "Event": [listing([])]},
        streams={"StatefulSet": [], "Pod": []})
    with pytest.raises(WaitTimeout) as caught:
        RolloutWaiter(client, "ns", "db", wait_timeout=0.3, stall_timeout=0).wait()
    assert caught.value.stuck == 1
    assert caught.value.msg == ("StatefulSet ns/db not ready: wait_timeout (0.3s) reached; stuck at ordinal 1: "
                                "pod db-1 has not been created yet (status: 1 of 2 pod(s) ready)")
    assert [row["pod"] for row in caught.value.timeline] == ["db-0"]


def test_waiter_fails_when_the_statefulset_is_deleted_while_waiting():
    not_ready = statefulset(replicas=2, ready=1, available=1)
    client = ScriptedWatchClient(
        lists={"StatefulSet": [listing([not_ready])], "Pod": [listing([pod("db-0")])]},
        streams={"StatefulSet": [[{"type": "DELETED", "object": not_ready}]], "Pod": []})
    with pytest.raises(rollout.K8sError, match="StatefulSet ns/db was deleted while waiting for it"):
        RolloutWaiter(client, "ns", "db", wait_timeout=5, stall_timeout=0).wait()


def test_waiter_raises_what_a_watch_could_not_survive():
    client = ScriptedWatchClient(
        lists={"StatefulSet": [listing([statefulset(replicas=2, ready=1, available=1)])],
               "Pod": [listing([pod("db-0")])]},
        streams={"StatefulSet": [], "Pod": [K8sApiError("pods is forbidden", status=403)]})
    with pytest.raises(K8sApiError, match="pods is forbidden"):
        RolloutWaiter(client, "ns", "db", wait_timeout=5, stall_timeout=0).wait()
