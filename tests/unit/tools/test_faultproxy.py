"""Unit tests of tools/faultproxy.py: the fault schedule, and each fault against a fake API server."""
import http.client
import http.server
import json
import os
import random
import socket
import threading
import time
from email.utils import parsedate_to_datetime

import pytest

from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

fp = load_script("tools", "faultproxy")


# -- the schedule -------------------------------------------------------------------------------------
def fires(rule, requests, seed=0):
    rng = random.Random(seed)
    return [i for i, (verb, path, watch) in enumerate(requests, 1) if rule.decide(verb, path, watch, rng)]


GETS = [("GET", "/api/v1/pods", False)] * 10


def test_every_nth_matching_request_from_first():
    assert fires(fp.Rule("503", every=3), GETS) == [1, 4, 7, 10]
    assert fires(fp.Rule("503", every=3, first=2), GETS) == [2, 5, 8]
    assert fires(fp.Rule("503", every=1, first=4, limit=2), GETS) == [4, 5]


def test_verb_and_path_filters_count_only_matching_requests():
    requests = [("GET", "/apis/apps/v1/namespaces/a/statefulsets/x", False),
                ("PATCH", "/apis/apps/v1/namespaces/a/statefulsets/x", False),
                ("GET", "/api/v1/namespaces/a/pods", False),
                ("PATCH", "/apis/apps/v1/namespaces/a/statefulsets/x", False),
                ("PATCH", "/api/v1/namespaces/a/pods/p", False)]
    assert fires(fp.Rule("500", verb="PATCH", every=2), requests) == [2, 5]
    assert fires(fp.Rule("500", verb="patch|get", path="statefulsets"), requests) == [1, 2, 4]


def test_watch_faults_only_hit_watches_and_others_can_be_told_to():
    requests = [("GET", "/x", False), ("GET", "/x", True), ("GET", "/x", False), ("GET", "/x", True)]
    assert fires(fp.Rule("watch-reset"), requests) == [2, 4]
    assert fires(fp.Rule("503"), requests) == [1, 2, 3, 4]
    assert fires(fp.Rule("503", watch=False), requests) == [1, 3]


def test_probability_is_seeded_so_a_run_can_be_replayed():
    first = fires(fp.Rule("429", probability=0.5), GETS * 5, seed=42)
    again = fires(fp.Rule("429", probability=0.5), GETS * 5, seed=42)
    other = fires(fp.Rule("429", probability=0.5), GETS * 5, seed=43)
    assert first == again and 10 < len(first) < 40 and first != other


def test_first_rule_that_fires_wins_but_every_rule_counts_the_request():
    schedule = fp.Schedule([fp.Rule("503", every=2, limit=1), fp.Rule("429", every=2)])
    chosen = [getattr(schedule.decide("GET", "/x", False), "fault", None) for dummy in range(4)]
    # Both rules are due on requests 1 and 3; the first listed wins while its limit lasts, and a
    # shadowed rule does not use up its own limit.
    assert chosen == ["503", None, "429", None]
    assert [r.fired for r in schedule.rules] == [1, 1]


def test_parse_rule_and_its_errors():
    rule = fp.parse_rule("503:every=3,first=2,verb=PATCH|POST,path=statefulsets,limit=2")
    assert (rule.fault, rule.every, rule.first, rule.verbs, rule.limit) == ("503", 3, 2, {"PATCH", "POST"}, 2)
    assert rule.describe() == "503:every=3,first=2,verb=PATCH|POST,path=statefulsets,limit=2"
    assert fp.parse_rule("date").fault == "date"
    with pytest.raises(ValueError, match="choose one of"):
        fp.parse_rule("418")
    with pytest.raises(ValueError, match="unknown option 'evry'"):
        fp.parse_rule("503:evry=3")
    with pytest.raises(ValueError, match="not key=value"):
        fp.parse_rule("503:every")
    with pytest.raises(ValueError, match=">= 1"):
        fp.parse_rule("503:every=0")


def test_is_watch_request():
    assert fp.is_watch_request("/api/v1/pods?watch=1&resourceVersion=5")
    assert fp.is_watch_request("/api/v1/pods?labelSelector=a&watch=true")
    assert not fp.is_watch_request("/api/v1/pods?labelSelector=watch%3D1")
    assert not fp.is_watch_request("/api/v1/watchers")


# -- each fault against a fake API server --------------------------------------------------------------
class FakeApi:
    """Plain-HTTP stand-in for the API server: records requests; watches stream one event per 0.2 s."""

    def __init__(self):
        self.seen = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                api.seen.append((self.command, self.path))
                if "watch=1" in self.path:
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for n in range(20):
                            line = json.dumps({"type": "ADDED", "object": {"metadata": {"resourceVersion": str(n)}}})
                            data = (line + "\n").encode()
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                            self.wfile.flush()
                            time.sleep(0.2)
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    return
                data = json.dumps({"kind": "Pod", "path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PATCH(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.seen.append((self.command, self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kubeconfig(self, directory):
        path = os.path.join(str(directory), "upstream")
        with open(path, "w") as f:
            json.dump({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                       "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:%d" % self.server.server_address[1]}}],
                       "users": [{"name": "u", "user": {}}]}, f)
        return path


@pytest.fixture
def setup(tmp_path):
    api = FakeApi()
    proxy = fp.FaultProxy(api.kubeconfig(tmp_path), log_path=str(tmp_path / "log.jsonl")).start()
    yield api, proxy, tmp_path
    proxy.stop()
    api.server.shutdown()


def request(proxy, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    return conn, conn.getresponse()


def test_no_rules_forwards_and_logs_every_request(setup):
    api, proxy, tmp = setup
    conn, response = request(proxy, "GET", "/api/v1/pods?limit=1")
    assert response.status == 200 and json.loads(response.read())["path"] == "/api/v1/pods?limit=1"
    lines = [json.loads(line) for line in open(tmp / "log.jsonl")]
    assert lines[0]["verb"] == "GET" and lines[0]["path"] == "/api/v1/pods" and lines[0]["fault"] is None


def test_requests_are_counted_per_label_as_the_benchmark_counts_them(setup):
    api, proxy, tmp = setup
    proxy.label = "noop"
    for path in ("/api/v1/pods", "/api/v1/pods?watch=1&timeoutSeconds=1"):
        conn, response = request(proxy, "GET", path)
        response.read()
        conn.close()
    proxy.label = None
    conn, response = request(proxy, "GET", "/api/v1/services")
    response.read()
    assert proxy.count("noop") == 2
    assert proxy.count("noop", lambda r: r["watch"]) == 1
    assert proxy.paths("noop") == ["GET /api/v1/pods", "GET /api/v1/pods (watch)"]
    assert len(proxy.records) == 3 and "label" not in proxy.records[-1]  # outside every phase: logged, no label


def test_status_faults_answer_a_status_and_429_carries_retry_after(setup):
    api, proxy, dummy = setup
    proxy.set_schedule(fp.Schedule([fp.parse_rule("429:limit=1,retry_after=2"), fp.parse_rule("504:limit=1")]))
    dummy, first = request(proxy, "GET", "/api/v1/pods")
    assert first.status == 429 and first.getheader("Retry-After") == "2"
    assert json.loads(first.read())["reason"] == "TooManyRequests"
    dummy, second = request(proxy, "GET", "/api/v1/pods")
    assert second.status == 504
    dummy, third = request(proxy, "GET", "/api/v1/pods")
    assert third.status == 200
    assert len(api.seen) == 1  # the faulted requests never reached the server


def test_retry_after_as_an_http_date_on_a_skewed_server_clock(setup):
    dummy, proxy, dummy = setup
    proxy.set_schedule(fp.Schedule([fp.parse_rule("429:retry_after=date+3,skew=-3600")]))
    dummy, response = request(proxy, "GET", "/api/v1/pods")
    server_now = parsedate_to_datetime(response.getheader("Date")).timestamp()
    retry_at = parsedate_to_datetime(response.getheader("Retry-After")).timestamp()
    assert abs(server_now - (time.time() - 3600)) < 5 and retry_at - server_now == 3
    with pytest.raises(ValueError, match="date\\+SECONDS"):
        fp.parse_rule("429:retry_after=soon")


def test_reset_before_never_reaches_the_server(setup):
    api, proxy, dummy = setup
    proxy.set_schedule(fp.Schedule([fp.parse_rule("reset-before")]))
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        request(proxy, "PATCH", "/apis/apps/v1/namespaces/a/statefulsets/x", body=b'{"a": 1}')
    assert api.seen == []


def test_reset_after_takes_effect_and_the_answer_is_lost(setup):
    api, proxy, dummy = setup
    proxy.set_schedule(fp.Schedule([fp.parse_rule("reset-after:verb=PATCH")]))
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        request(proxy, "PATCH", "/apis/apps/v1/namespaces/a/statefulsets/x", body=b'{"a": 1}')
    assert api.seen == [("PATCH", "/apis/apps/v1/namespaces/a/statefulsets/x", b'{"a": 1}')]


def test_stall_delays_then_forwards(setup):
    api, proxy, dummy = setup
    proxy.set_schedule(fp.Schedule([fp.parse_rule("stall:stall=0.5")]))
    started = time.monotonic()
    dummy, response = request(proxy, "GET", "/api/v1/pods")
    assert response.status == 200 and time.monotonic() - started >= 0.5


def test_date_is_rewritten(setup):
    dummy, proxy, dummy = setup
    proxy.set_schedule(fp.Schedule([fp.parse_rule("date:skew=-86400")]))
    dummy, response = request(proxy, "GET", "/api/v1/pods")
    skew = parsedate_to_datetime(response.getheader("Date")).timestamp() - time.time()
    assert -86400 - 5 < skew < -86400 + 5


def test_watch_reset_cuts_the_stream_with_a_reset(setup):
    dummy, proxy, dummy = setup
    proxy.set_schedule(fp.Schedule([fp.parse_rule("watch-reset")]))
    dummy, response = request(proxy, "GET", "/api/v1/pods?watch=1")
    assert response.status == 200
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead, http.client.HTTPException)):
        while response.read(1):
            pass


def test_watch_gone_ends_the_stream_and_the_resume_gets_410(setup):
    api, proxy, dummy = setup
    proxy.set_schedule(fp.Schedule([fp.parse_rule("watch-gone:limit=1")]))
    dummy, response = request(proxy, "GET", "/api/v1/pods?watch=1&resourceVersion=1")
    lines = response.read().splitlines()  # a clean end after the first event
    assert len(lines) == 1 and json.loads(lines[0])["type"] == "ADDED"
    dummy, resumed = request(proxy, "GET", "/api/v1/pods?watch=1&resourceVersion=0")
    event = json.loads(resumed.read())
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    dummy, third = request(proxy, "GET", "/api/v1/pods?watch=1&resourceVersion=0")
    assert json.loads(third.read(200).splitlines()[0])["type"] == "ADDED"  # only one 410 per drop
    assert sum(1 for s in api.seen if "watch=1" in s[1]) == 2


def test_upstream_down_answers_502(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    path = tmp_path / "kc"
    path.write_text(json.dumps({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:%d" % port}}],
                                "users": [{"name": "u", "user": {}}]}))
    proxy = fp.FaultProxy(str(path)).start()
    try:
        dummy, response = request(proxy, "GET", "/api/v1/pods")
        assert response.status == 502
    finally:
        proxy.stop()
