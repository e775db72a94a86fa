"""The watch engine over a scripted client: resumes after 410 Gone and dropped streams, gives up when told (no network)."""
import queue
import threading
import time

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sApiError, K8sError, K8sUnreachableError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.watch import Watch
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import (
    ScriptedWatchClient,
    listing,
    pod,
)


def at(name, rv, ready=True):
    obj = pod(name, ready=ready)
    obj["metadata"]["resourceVersion"] = rv
    return obj


def seen(type_, obj):
    return {"type": type_, "object": obj}


def drops_after(events, exc):
    """A stream that delivers ``events`` and then breaks."""
    yield from events
    raise exc


def run(lists, streams, deadline_in=10):
    """Run one Pod watch in this thread until its scripts are played; returns (watch, client, queue items)."""
    events, stop = queue.Queue(), threading.Event()

    def end_of_script():
        stop.set()
        yield from ()

    client = ScriptedWatchClient(lists={"Pod": lists}, streams={"Pod": list(streams) + [end_of_script()]})
    watch = Watch(client, "v1", "Pod", "ns", events, stop, time.monotonic() + deadline_in, label_selector="app=db")
    watch.run()
    items = []
    while not events.empty():
        items.append(events.get_nowait())
    return watch, client, items


def test_410_gone_lists_again_and_resumes_from_the_new_resource_version():
    db0, db1 = at("db-0", "1"), at("db-1", "10")
    watch, client, items = run(
        lists=[listing([db0], rv="1"), listing([db0, at("db-1", "9", ready=False)], rv="9")],
        streams=[K8sApiError("too old resource version", status=410), [seen("MODIFIED", db1)]])
    assert client.watch_calls == [("Pod", "1"), ("Pod", "9"), ("Pod", "10")]
    assert client.list_calls == ["Pod", "Pod"]
    assert (watch.relists, watch.reconnects) == (1, 0)
    assert [item[:2] for item in items] == [("sync", "Pod"), ("sync", "Pod"), ("event", "Pod")]
    assert [p["metadata"]["name"] for p in items[1][2]] == ["db-0", "db-1"]
    assert items[2] == ("event", "Pod", "MODIFIED", db1)


@pytest.mark.parametrize("drop", [
    K8sUnreachableError("connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    ValueError("a torn JSON line"),
    RuntimeError("ProtocolError('Connection broken: InvalidChunkLength')"),  # what urllib3 raises mid-stream
], ids=["unreachable", "connection reset", "torn line", "protocol error"])
def test_a_dropped_stream_resumes_from_the_last_resource_version_seen(drop):
    db0, db1 = at("db-0", "5"), at("db-1", "6")
    watch, client, items = run(lists=[listing([], rv="1")],
                               streams=[drops_after([seen("ADDED", db0)], drop), [seen("ADDED", db1)]])
    assert client.watch_calls == [("Pod", "1"), ("Pod", "5"), ("Pod", "6")]
    assert client.list_calls == ["Pod"]  # resumed, not re-listed
    assert (watch.relists, watch.reconnects, client.policy.waits) == (0, 1, 1)
    assert items[1:] == [("event", "Pod", "ADDED", db0), ("event", "Pod", "ADDED", db1)]


def test_the_backoff_budget_is_what_is_left_of_the_deadline():
    started = time.monotonic()
    _watch, client, _items = run(lists=[listing([])], streams=[K8sUnreachableError("refused")], deadline_in=30)
    [budget_end] = client.policy.budget_ends
    assert started + 29 < budget_end <= time.monotonic() + 30


def test_gives_up_when_the_retry_policy_says_so_and_reports_it_on_the_queue():
    drops = [K8sUnreachableError("connection refused %d" % n) for n in range(1, 6)]
    watch, client, items = run(lists=[listing([])], streams=drops)
    assert watch.reconnects == 5 and client.policy.waits == 5  # the policy refuses the fifth attempt
    kind, what, exc = items[-1]
    assert (kind, what) == ("error", "Pod")
    assert isinstance(exc, K8sUnreachableError)
    assert exc.msg == "watch on Pod could not be resumed: connection refused 5"


def test_an_event_resets_the_attempt_count():
    # Four drops, one event, four drops: never five in a row, so the watch keeps going.
    drops = [K8sUnreachableError("refused")] * 4
    watch, _client, items = run(
        lists=[listing([])],
        streams=drops + [drops_after([seen("ADDED", at("db-0", "2"))], K8sUnreachableError("refused"))] + drops[:3])
    assert watch.reconnects == 8
    assert [item[0] for item in items] == ["sync", "event"]


def test_other_api_errors_end_the_watch_with_the_error():
    watch, client, items = run(lists=[listing([])], streams=[K8sApiError("forbidden", status=403)])
    assert items[-1][:2] == ("error", "Pod") and items[-1][2].status == 403
    assert (watch.relists, watch.reconnects, client.policy.waits) == (0, 0, 0)


def test_bookmarks_move_the_resource_version_without_an_event_and_a_clean_end_resumes():
    watch, client, items = run(lists=[listing([], rv="1")],
                               streams=[[seen("BOOKMARK", {"metadata": {"resourceVersion": "7"}})], []])
    assert client.watch_calls == [("Pod", "1"), ("Pod", "7"), ("Pod", "7")]
    assert [item[0] for item in items] == ["sync"]
    assert (watch.relists, watch.reconnects) == (0, 0)  # a server-side timeout is not a failure


def test_a_deadline_already_passed_lists_once_and_stops():
    _watch, client, items = run(lists=[listing([pod("db-0")])], streams=[], deadline_in=-1)
    assert client.watch_calls == []
    assert items == [("sync", "Pod", [pod("db-0")])]


def test_a_bug_is_reported_on_the_queue_instead_of_hanging_the_wait():
    class Broken(ScriptedWatchClient):
        def list(self, *args, **kwargs):
            raise KeyError("items")

    events = queue.Queue()
    Watch(Broken({}, {}), "v1", "Pod", "ns", events, threading.Event(), time.monotonic() + 5).run()
    kind, what, exc = events.get_nowait()
    assert (kind, what) == ("error", "Pod")
    assert exc.__class__ is K8sError and exc.msg == "watching Pod failed: KeyError('items')"
