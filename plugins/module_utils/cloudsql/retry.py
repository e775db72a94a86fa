# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The retry policy of the Cloud SQL modules, declared once: which failures are transient, the
backoff between attempts, and one deadline for the whole task.

A task gets one Deadline when its client is built; every request, every retry and every
operation wait draws on it, so ``wait_timeout`` bounds the task as a whole instead of
restarting per call. Failures that another attempt cannot fix (the name does not resolve, the
port refuses connections, the certificate does not verify, the URL is malformed) are
permanent and end the task at once.
"""

from __future__ import annotations

import errno
import random
import socket
import ssl

TRANSIENT = "transient"
PERMANENT = "permanent"
# A connect timeout: transient once the endpoint has answered in this task, permanent before
# (nothing came back at all: a wrong address or egress dropped by a firewall).
CONNECT_TIMEOUT = "connect-timeout"

# HTTP statuses worth another attempt (409 operationInProgress is decided by the caller).
RETRYABLE_STATUS = frozenset((429, 500, 502, 503, 504))

_REFUSED = (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH)


class Deadline(object):
    """A point in time on an injectable monotonic clock."""

    def __init__(self, seconds, clock):
        self.seconds = seconds
        self.clock = clock
        self.at = clock() + seconds

    def remaining(self):
        return max(0.0, self.at - self.clock())

    def expired(self):
        return self.clock() >= self.at


def backoff_delays(initial=0.5, maximum=8.0, factor=2.0):
    """Endless jittered exponential delays: 0.5, 1, 2, 4, 8, 8, ... (each +-25%)."""
    delay = initial
    while True:
        yield delay * random.uniform(0.75, 1.25)
        delay = min(delay * factor, maximum)


def _causes(exc):
    """The exception and everything it wraps (requests -> urllib3 -> socket), each once."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        yield current
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))


def connection_failure(exc):
    """(kind, why) for an exception raised while sending a request.

    Permanent: DNS failure, refused or unreachable, TLS verification, malformed URL.
    Connect timeout: see CONNECT_TIMEOUT. Transient: read timeouts, resets, the peer closing
    the connection mid-response.
    """
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return PERMANENT, "the host name does not resolve (%s)" % (cause.strerror or cause)
        if isinstance(cause, ConnectionRefusedError) or (
                isinstance(cause, OSError) and cause.errno in _REFUSED):
            return PERMANENT, "the connection was refused or the host is unreachable (%s)" % (
                cause.strerror or cause)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return PERMANENT, "its TLS certificate does not verify (%s)" % (
                cause.verify_message or cause)
        if type(cause).__name__ in ("InvalidURL", "MissingSchema", "InvalidSchema", "LocationParseError"):
            return PERMANENT, "the URL is not valid (%s)" % cause
    for cause in _causes(exc):
        if type(cause).__name__ in ("ConnectTimeout", "ConnectTimeoutError"):
            return CONNECT_TIMEOUT, "no connection within the request timeout"
    return TRANSIENT, str(exc)
