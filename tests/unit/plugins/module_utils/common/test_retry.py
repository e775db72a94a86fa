"""The one retry policy: which errors are transient, Retry-After, and one deadline (no network beyond loopback)."""
import errno
import http.client
import socket
import ssl
import threading
import time
from email.utils import formatdate

import pytest
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError, SSLError

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import (
    DNS,
    PERMANENT,
    REFUSED,
    TLS,
    TRANSIENT,
    RetryPolicy,
    call_with_retry,
    classify_exception,
    classify_status,
    parse_retry_after,
)

EXCEPTIONS = [
    ("reset", ProtocolError("Connection aborted.", ConnectionResetError(errno.ECONNRESET, "reset")), TRANSIENT),
    ("EOF", ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed")), TRANSIENT),
    ("TLS EOF", SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")), TRANSIENT),
    ("timeout", socket.timeout("timed out"), TRANSIENT),
    ("refused", NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused"),
     REFUSED),
    ("DNS", NameResolutionError("h.invalid", None, socket.gaierror(-2, "Name or service not known")), DNS),
    ("DNS wrapped", MaxRetryError(None, "/", NameResolutionError(
        "h", None, socket.gaierror(-3, "Temporary failure in name resolution"))), DNS),
    ("certificate", MaxRetryError(None, "/", SSLError(ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))), TLS),
    ("hostname mismatch", SSLError("Hostname mismatch, certificate is not valid for 'x'"), TLS),
    ("other", ValueError("something else"), PERMANENT),
]


@pytest.mark.parametrize("exc,kind", [(e, k) for _n, e, k in EXCEPTIONS], ids=[n for n, _e, _k in EXCEPTIONS])
def test_classify_exception(exc, kind):
    assert classify_exception(exc) == kind


@pytest.mark.parametrize("status,message,kind", [
    (429, "", TRANSIENT), (502, "", TRANSIENT), (503, "", TRANSIENT), (504, "", TRANSIENT),
    (500, "etcdserver: request timed out", TRANSIENT),
    (500, "quantities must match the regular expression", PERMANENT),
    (500, "admission webhook \"x\" denied the request", PERMANENT),
    (400, "", PERMANENT), (404, "", PERMANENT), (422, "", PERMANENT), (401, "", PERMANENT)])
def test_classify_status(status, message, kind):
    assert classify_status(status, message) == kind


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retry_after_date_is_measured_on_the_servers_clock():
    # make chaos, "429 Retry-After date, server clock 1 h behind": the date was compared with our
    # clock, gave 0 s, and the client retried at once instead of waiting the 2 s asked for.
    an_hour_ago = time.time() - 3600
    value = formatdate(an_hour_ago + 2, usegmt=True)
    assert parse_retry_after(value, server_date=formatdate(an_hour_ago, usegmt=True)) == 2.0
    assert parse_retry_after(value) == 0.0  # no Date header: our clock is all there is
    assert parse_retry_after(value, server_date="garbage") == 0.0
    assert parse_retry_after("3", server_date=formatdate(an_hour_ago, usegmt=True)) == 3.0


def test_wait_never_passes_the_deadline():
    now = [0.0]
    policy = RetryPolicy(10, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s), rand=lambda: 1.0)
    attempts = 1
    while policy.wait(attempts):
        attempts += 1
    assert now[0] <= 10 and attempts > 3
    assert policy.wait(1, retry_after=policy.remaining() + 0.5) is False  # a Retry-After past the deadline


def test_a_real_eof_mid_restart_is_classified_transient():
    """A server that accepts and closes without answering, as an API server going down does."""
    import urllib3

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def close_once():
        conn, _addr = listener.accept()
        conn.recv(65536)
        conn.close()

    threading.Thread(target=close_once, daemon=True).start()
    pool = urllib3.PoolManager(retries=False)
    with pytest.raises(Exception) as caught:
        pool.request("GET", "http://127.0.0.1:%d/version" % listener.getsockname()[1], retries=False, timeout=5)
    listener.close()
    assert classify_exception(caught.value) == TRANSIENT


class FakeTime(object):
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_until_deadline_cuts_the_last_wait_short_for_one_last_attempt():
    t = FakeTime()
    policy = RetryPolicy(10, base=8, cap=8, clock=t.clock, sleep=t.sleep, rand=lambda: 1.0)
    assert policy.wait(1, until_deadline=True) and t.now == 8
    assert policy.wait(2, until_deadline=True) and t.now == 10  # 8 s asked, 2 s left: wait 2
    assert policy.wait(3, until_deadline=True) is False and policy.expired()
    assert t.slept == [8, 2]


def test_without_until_deadline_a_wait_past_the_deadline_is_refused_at_once():
    t = FakeTime()
    policy = RetryPolicy(10, base=8, cap=8, clock=t.clock, sleep=t.sleep, rand=lambda: 1.0)
    assert policy.wait(1) and policy.wait(2) is False and t.now == 8 and not policy.expired()


def test_call_with_retry_retries_transient_failures_then_returns():
    t = FakeTime()
    outcomes = [OSError("reset"), OSError("reset"), "ok"]

    def call():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = RetryPolicy(60, clock=t.clock, sleep=t.sleep)
    assert call_with_retry(call, policy, lambda exc: isinstance(exc, OSError)) == "ok"
    assert len(t.slept) == 2


def test_call_with_retry_raises_a_permanent_failure_at_once():
    t = FakeTime()
    calls = []

    def call():
        calls.append(1)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        call_with_retry(call, RetryPolicy(60, clock=t.clock, sleep=t.sleep), lambda exc: isinstance(exc, OSError))
    assert calls == [1] and t.slept == []


def test_call_with_retry_raises_the_last_transient_failure_at_the_deadline():
    t = FakeTime()

    def call():
        raise OSError("still down at %s" % t.now)

    with pytest.raises(OSError, match="still down"):
        call_with_retry(call, RetryPolicy(5, clock=t.clock, sleep=t.sleep), lambda exc: True, until_deadline=True)
    assert t.now == 5
