# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One retry policy for every remote call: a deadline, jittered backoff, Retry-After, and which errors are transient.

Used by the Kubernetes client, the Cloud SQL Admin API client and the MySQL wait loops. Ansible-free
and HTTP-library-free: each caller classifies what it got (``classify_exception`` /
``classify_status`` here for HTTP APIs, or its own classifier) and asks the policy whether (and how
long) to wait; ``call_with_retry`` is the loop for callers with nothing more to decide. Transient means a retry can
succeed without anyone changing anything (a restarting API server, a load balancer resetting
connections, throttling). Everything else (a certificate that does not verify, a name that does not
resolve, a malformed URL, a validation error) fails at once: retrying it only delays the message.
"""
from __future__ import annotations

import errno
import random
import socket
import ssl
import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.times import parse_http_date

TRANSIENT = "transient"      # retry within the deadline
PERMANENT = "permanent"      # fail now
TLS = "tls"                  # fail now: the server's certificate (or ours) was refused
DNS = "dns"                  # fail now: the host name does not resolve
REFUSED = "refused"          # nothing listens: transient once the server answered, else a wrong address

TRANSIENT_STATUSES = frozenset((429, 502, 503, 504))

# Text that marks a connection-level failure as transient when only the message survives wrapping.
_TRANSIENT_MARKERS = ("connection reset", "connection aborted", "remotedisconnected", "eof occurred",
                      "unexpected eof", "broken pipe", "timed out", "timeout", "connection refused",
                      "no route to host", "network is unreachable", "incompleteread", "bad status line")
_DNS_MARKERS = ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
                "no address associated with hostname", "getaddrinfo failed", "name does not resolve")
_TLS_MARKERS = ("certificate verify failed", "certificate_verify_failed", "hostname mismatch",
                "doesn't match", "wrong version number", "sslv3 alert", "tlsv1 alert", "unknown ca")


def exception_chain(exc):
    """The exception and what it wraps, each once (requests and urllib3 nest the real cause in .reason / __context__)."""
    seen, queue = [], [exc]
    while queue and len(seen) < 12:
        item = queue.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        reason = getattr(item, "reason", None)
        queue += [reason if isinstance(reason, BaseException) else None, item.__cause__, item.__context__]
        queue += [arg for arg in getattr(item, "args", ()) if isinstance(arg, BaseException)]
    return seen


def classify_exception(exc):
    """TRANSIENT, REFUSED, DNS, TLS or PERMANENT for an exception raised while sending a request."""
    chain = exception_chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return TLS
        if isinstance(item, socket.gaierror):
            return DNS
    if any(marker in text for marker in _DNS_MARKERS):
        return DNS
    if any(marker in text for marker in _TLS_MARKERS):
        return TLS
    for item in chain:
        if isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) == errno.ECONNREFUSED:
            return REFUSED
    if "connection refused" in text:
        return REFUSED
    for item in chain:
        if isinstance(item, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, TimeoutError,
                             socket.timeout, EOFError, ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            return TRANSIENT
    if any(marker in text for marker in _TRANSIENT_MARKERS):
        return TRANSIENT
    for item in chain:
        if isinstance(item, ssl.SSLError):  # a handshake refused for a reason other than a reset
            return TLS
    return PERMANENT


def classify_status(status, message=""):
    """TRANSIENT for throttling and gateway errors; a 500 is transient only when it is not a refusal of the input.

    API servers answer some invalid input with 500 (an admission webhook, an unparsable quantity
    inside a conversion); those carry the reason in the message and must not be retried.
    """
    if status in TRANSIENT_STATUSES:
        return TRANSIENT
    if status == 500:
        text = (message or "").lower()
        if any(word in text for word in ("invalid", "unable to parse", "quantities must match",
                                         "cannot unmarshal", "cannot be handled", "is not valid",
                                         "admission webhook", "validation", "failed to create typed patch object")):
            return PERMANENT
        return TRANSIENT
    return PERMANENT


def _http_date(value):
    """Seconds since the epoch of an HTTP date; None when absent or unreadable."""
    when = parse_http_date(value) if value else None
    return None if when is None else when.timestamp()


def parse_retry_after(value, now=None, server_date=None):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable.

    An HTTP date is on the server's clock: it is measured from the answer's Date header
    (``server_date``) when there is one, so a server whose clock is off by an hour is still waited
    for as long as it asked, not zero seconds (or an hour).
    """
    if value is None or value == "":
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    when = _http_date(value)
    if when is None:
        return None
    sent = _http_date(server_date)
    if sent is not None:
        now = sent
    elif now is None:
        now = time.time()
    return max(0.0, when - now)


class RetryPolicy:
    """Jittered exponential backoff inside one deadline for the whole task, not per call."""

    def __init__(self, timeout=300.0, base=0.2, cap=5.0, clock=time.monotonic, sleep=time.sleep,
                 rand=random.random, retry_after_cap=30.0):
        self.timeout = float(timeout)
        self.base = base
        self.cap = cap
        self.retry_after_cap = retry_after_cap
        self.clock = clock
        self.sleep = sleep
        self.rand = rand
        self.deadline = clock() + self.timeout

    def remaining(self):
        return self.deadline - self.clock()

    def expired(self):
        return self.clock() >= self.deadline

    def backoff(self, attempt, retry_after=None):
        """Seconds to wait before attempt number ``attempt`` (1-based): the server's Retry-After, else jitter."""
        if retry_after is not None:
            return min(float(retry_after), self.retry_after_cap)
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        return ceiling / 2 + self.rand() * ceiling / 2

    def wait(self, attempt, retry_after=None, budget_end=None, until_deadline=False):
        """Sleep before the next attempt; False (without sleeping) when that would pass the deadline or budget.

        ``until_deadline``: a wait that would pass the deadline is cut short at it instead, for one last
        attempt there; only a spent deadline says False. Callers whose requests are cheap and whose
        users set the deadline (Cloud SQL's wait_timeout) use the whole of it.
        """
        delay = self.backoff(attempt, retry_after)
        end = self.deadline if budget_end is None else min(self.deadline, budget_end)
        if until_deadline:
            if self.clock() >= end:
                return False
            delay = min(delay, end - self.clock())
        elif self.clock() + delay > end:
            return False
        self.sleep(delay)
        return True


def call_with_retry(call, policy, is_transient, until_deadline=False):
    """``call()`` until it returns, fails permanently (``is_transient(exc)`` is false) or the deadline passes.

    The last exception is raised as it is, so the caller words the failure.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except Exception as exc:  # the classifier decides; anything it does not know is permanent
            if not is_transient(exc) or not policy.wait(attempt, until_deadline=until_deadline):
                raise
