# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault-injecting proxy on loopback in front of the Kubernetes API server (stdlib only).

Clients talk plain HTTP to 127.0.0.1:<port> (a kubeconfig from ``write_kubeconfig``); the proxy
forwards each request over TLS to the real API server with the credentials of the kubeconfig it was
given (the admin client certificate of tools/localkube). TLS is not terminated with a look-alike
certificate on purpose: a client certificate cannot be forwarded through a terminating proxy, and
the faults under test are HTTP and TCP ones, not TLS ones.

Faults, chosen per request by a seeded schedule of rules (every Nth matching request, by path
regex, by verb, watch or not, at most ``limit`` times, with a probability):

  429 / 500 / 503 / 504   a Status answer instead of forwarding (429 carries Retry-After: seconds,
                          or with retry_after=date+N an HTTP-date on the server's clock, see skew)
  reset-before            the connection is reset after the request was read, before forwarding
  reset-after             the request is forwarded (so it takes effect), then the connection is reset
  stall                   the request waits ``stall`` seconds (default 5), then is forwarded
  watch-reset             a watch is forwarded, then reset after its first chunk (or 1 s)
  watch-gone              a watch is forwarded, ended cleanly after its first chunk (or 1 s); the
                          next watch on that path is answered with a 410 Gone ERROR event, as an
                          API server does for a resourceVersion that compaction removed
  date                    the answer's Date header is moved by ``skew`` seconds (default -86400);
                          ``skew`` also sets the server clock of the status faults' Date/Retry-After

Every request is logged as one JSON line (verb, path, watch, fault, status, and the caller's current
``label``), so the same proxy is a request counter when given no rules (bench/k8s_bench.py).

    python3 tools/faultproxy.py --kubeconfig .localkube/kubeconfig --port 18443 \\
        --rule '503:every=3,verb=PATCH' --rule 'watch-reset:limit=2' --seed 7 --log faults.jsonl
"""
from __future__ import annotations

import argparse
import base64
import http.client
import http.server
import json
import os
import random
import re
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from urllib.parse import urlsplit

STATUS_FAULTS = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
FAULTS = tuple(str(code) for code in STATUS_FAULTS) + (
    "reset-before", "reset-after", "stall", "watch-reset", "watch-gone", "date")
WATCH_FAULTS = ("watch-reset", "watch-gone")


# -- the schedule (pure: unit-tested) ----------------------------------------------------------------
class Rule:
    """One fault and when it fires: the ``first``-th matching request, then every ``every``-th after it."""

    def __init__(self, fault, every=1, first=1, path=None, verb=None, watch=None, limit=None, probability=None,
                 retry_after=1, stall=5.0, skew=None):
        if fault not in FAULTS:
            raise ValueError("fault %r: choose one of %s" % (fault, ", ".join(FAULTS)))
        if int(every) < 1 or int(first) < 1:
            raise ValueError("every and first must be >= 1")
        self.fault = fault
        self.every, self.first = int(every), int(first)
        self.path = re.compile(path) if path else None
        self.verbs = {v.upper() for v in verb.split("|")} if isinstance(verb, str) else (
            {v.upper() for v in verb} if verb else None)
        # Watch faults only make sense on watches; everything else defaults to any request.
        self.watch = (fault in WATCH_FAULTS) if watch is None else watch
        self.watch_explicit = watch is not None
        self.limit = None if limit is None else int(limit)
        self.probability = None if probability is None else float(probability)
        # retry_after: seconds, or "date+N": an HTTP-date N seconds after the (skewed) server clock.
        self.retry_after, self.stall = str(retry_after), float(stall)
        if not re.fullmatch(r"(date\+)?\d+(\.\d+)?", self.retry_after):
            raise ValueError("retry_after %r: seconds or date+SECONDS" % self.retry_after)
        # skew: how far the server's clock (its Date header) is from ours; the date fault's default is a day behind.
        self.skew = float(skew) if skew is not None else (-86400.0 if fault == "date" else 0.0)
        self.seen = 0
        self.fired = 0

    def matches(self, verb, path, is_watch):
        if self.verbs and verb.upper() not in self.verbs:
            return False
        if self.path and not self.path.search(path):
            return False
        if self.fault in WATCH_FAULTS or self.watch_explicit:
            return bool(is_watch) == bool(self.watch)
        return True

    def decide(self, verb, path, is_watch, rng, claim=True):
        """Count a matching request and say whether the fault is due on it (and, with claim, mark it fired)."""
        if not self.matches(verb, path, is_watch):
            return False
        self.seen += 1
        if self.seen < self.first or (self.seen - self.first) % self.every:
            return False
        if self.limit is not None and self.fired >= self.limit:
            return False
        if self.probability is not None and rng.random() >= self.probability:
            return False
        if claim:
            self.fired += 1
        return True

    def describe(self):
        parts = ["every=%d" % self.every]
        if self.first != 1:
            parts.append("first=%d" % self.first)
        if self.verbs:
            parts.append("verb=" + "|".join(sorted(self.verbs)))
        if self.path:
            parts.append("path=" + self.path.pattern)
        if self.limit is not None:
            parts.append("limit=%d" % self.limit)
        if self.probability is not None:
            parts.append("p=%g" % self.probability)
        return "%s:%s" % (self.fault, ",".join(parts))


def parse_rule(text):
    """'503:every=3,verb=PATCH|POST,path=statefulsets,limit=2' -> Rule."""
    fault, dummy, rest = text.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError("rule %r: %r is not key=value" % (text, item))
        key = key.strip()
        if key not in ("every", "first", "path", "verb", "watch", "limit", "probability", "retry_after",
                       "stall", "skew"):
            raise ValueError("rule %r: unknown option %r" % (text, key))
        if key == "watch":
            value = value.lower() in ("1", "true", "yes")
        options[key] = value
    return Rule(fault.strip(), **options)


class Schedule:
    """The rules in order; the first that fires on a request wins. Seeded, so a run can be replayed."""

    def __init__(self, rules=(), seed=0):
        self.rules = list(rules)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.gone_paths = set()  # watches dropped by watch-gone whose resume must get 410

    def decide(self, verb, path, is_watch):
        """The Rule that fires for this request, or None.

        Every rule counts the requests it matches (so "every 3rd PATCH" stays true whatever other rules
        do); only the first due rule fires and uses up its limit.
        """
        with self.lock:
            chosen = None
            for rule in self.rules:
                if rule.decide(verb, path, is_watch, self.rng, claim=False) and chosen is None:
                    chosen = rule
            if chosen is not None:
                chosen.fired += 1
            return chosen

    def take_gone(self, path):
        with self.lock:
            if path in self.gone_paths:
                self.gone_paths.discard(path)
                return True
            return False

    def mark_gone(self, path):
        with self.lock:
            self.gone_paths.add(path)


def is_watch_request(target):
    query = urlsplit(target).query
    return any(part in ("watch=1", "watch=true") for part in query.split("&"))


# -- upstream ------------------------------------------------------------------------------------------
class Upstream:
    """Where and how to reach the real API server, read from a kubeconfig (JSON, or YAML with PyYAML)."""

    def __init__(self, kubeconfig):
        with open(kubeconfig) as f:
            text = f.read()
        try:
            config = json.loads(text)
        except ValueError:
            import yaml  # only for YAML kubeconfigs; localkube writes JSON
            config = yaml.safe_load(text)
        context_name = config.get("current-context")
        context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        url = urlsplit(cluster["server"])
        self.tls = url.scheme != "http"  # plain HTTP upstreams: the unit tests' fake API server
        self.host, self.port = url.hostname, url.port or (443 if self.tls else 80)
        self.context = ssl.create_default_context()
        if cluster.get("certificate-authority-data"):
            self.context.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        elif cluster.get("certificate-authority"):
            self.context.load_verify_locations(cafile=cluster["certificate-authority"])
        self.token = user.get("token")
        self._tmp = tempfile.mkdtemp(prefix="faultproxy-")
        cert, key = user.get("client-certificate"), user.get("client-key")
        if user.get("client-certificate-data"):
            cert = self._write("client.crt", user["client-certificate-data"])
            key = self._write("client.key", user["client-key-data"])
        if cert:
            self.context.load_cert_chain(cert, key)

    def _write(self, name, data):
        path = os.path.join(self._tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def connect(self, timeout=None):
        if not self.tls:
            return http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)


# -- the proxy -----------------------------------------------------------------------------------------
def _reset(sock):
    """Close with RST rather than FIN, as a crashed peer or a load balancer would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def _status_body(code, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": STATUS_FAULTS.get(code, "Expired"), "code": code}).encode()


class FaultProxy:
    """HTTP on 127.0.0.1 -> HTTPS to the API server, injecting the schedule's faults and logging each request."""

    def __init__(self, kubeconfig, schedule=None, log_path=None, port=0):
        self.upstream = Upstream(kubeconfig)
        self.schedule = schedule or Schedule()
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a") if log_path else None
        self.records = []
        self.seq = 0
        self.label = None  # set by a caller counting requests per phase (bench/k8s_bench.py)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (ConnectionError, OSError, ValueError):
                    self.close_connection = True

            def _handle(self):
                proxy.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = None

    # lifecycle
    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self.log_file:
            self.log_file.close()

    def set_schedule(self, schedule):
        self.schedule = schedule

    def write_kubeconfig(self, path):
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "faultproxy",
                       "clusters": [{"name": "faultproxy", "cluster": {"server": "http://127.0.0.1:%d" % self.port}}],
                       "users": [{"name": "faultproxy", "user": {}}],
                       "contexts": [{"name": "faultproxy", "context": {"cluster": "faultproxy", "user": "faultproxy"}}]},
                      f)
        return path

    def _log(self, handler, is_watch, fault, status, note=None):
        with self.log_lock:
            self.seq += 1
            record = {"t": round(time.time(), 3), "n": self.seq, "verb": handler.command,
                      "path": handler.path.split("?")[0], "watch": is_watch, "fault": fault, "status": status}
            if note:
                record["note"] = note
            if self.label is not None:
                record["label"] = self.label
            self.records.append(record)
            if self.log_file:
                self.log_file.write(json.dumps(record) + "\n")
                self.log_file.flush()

    def count(self, label, predicate=None):
        """Requests logged under ``label`` (and matching ``predicate(record)``)."""
        with self.log_lock:
            return len([r for r in self.records if r.get("label") == label and (predicate is None or predicate(r))])

    def paths(self, label):
        """``VERB /path`` of each request logged under ``label``, watches marked."""
        with self.log_lock:
            return ["%s %s%s" % (r["verb"], r["path"], " (watch)" if r["watch"] else "")
                    for r in self.records if r.get("label") == label]

    def faults_fired(self):
        with self.log_lock:
            return [r for r in self.records if r["fault"]]

    # one request
    def handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        path = h.path.split("?")[0]
        is_watch = is_watch_request(h.path)
        if is_watch and self.schedule.take_gone(path):
            self._log(h, is_watch, "watch-gone", 410, "resume answered 410 Gone")
            event = json.dumps({"type": "ERROR", "object": json.loads(_status_body(
                410, "too old resource version: 1 (faultproxy)"))}).encode() + b"\n"
            h.send_response_only(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(event)))
            h.send_header("Date", formatdate(usegmt=True))
            h.end_headers()
            h.wfile.write(event)
            return
        rule = self.schedule.decide(h.command, path, is_watch)
        fault = rule.fault if rule else None
        if fault and fault.isdigit():
            code = int(fault)
            data = _status_body(code, "faultproxy: injected %d" % code)
            self._log(h, is_watch, fault, code)
            h.send_response_only(code)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            server_now = time.time() + rule.skew
            h.send_header("Date", formatdate(server_now, usegmt=True))
            if code == 429:
                after = rule.retry_after
                if after.startswith("date+"):
                    after = formatdate(server_now + float(after[5:]), usegmt=True)
                h.send_header("Retry-After", after)
            h.end_headers()
            h.wfile.write(data)
            return
        if fault == "reset-before":
            self._log(h, is_watch, fault, None)
            h.close_connection = True
            _reset(h.connection)
            return
        if fault == "stall":
            # Logged now, not when the answer comes: the client may give up (or exit) meanwhile.
            self._log(h, is_watch, fault, None, "stalled %g s before forwarding" % rule.stall)
            time.sleep(rule.stall)
            rule = None
        self._forward(h, body, is_watch, rule)

    def _forward(self, h, body, is_watch, rule):
        fault = rule.fault if rule else None
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("host", "connection", "content-length", "accept-encoding", "authorization")}
        if self.upstream.token:
            headers["Authorization"] = "Bearer " + self.upstream.token
        conn = self.upstream.connect()
        try:
            conn.request(h.command, h.path, body=body, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:  # upstream down: answer like a gateway would
            conn.close()
            data = _status_body(503, "faultproxy: upstream unreachable: %s" % exc)
            self._log(h, is_watch, None, 502, "upstream: %s" % exc)
            h.send_response_only(502)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        try:
            if fault == "reset-after":
                if not is_watch:  # a watch never ends by itself: its answer's headers are enough
                    response.read()
                self._log(h, is_watch, fault, response.status, "forwarded, then reset")
                h.close_connection = True
                _reset(h.connection)
                return
            self._log(h, is_watch, fault, response.status)
            h.send_response_only(response.status)
            for key, value in response.getheaders():
                if key.lower() in ("transfer-encoding", "connection", "content-length"):
                    continue
                if key.lower() == "date" and fault == "date":
                    value = formatdate(time.time() + rule.skew, usegmt=True)
                h.send_header(key, value)
            if response.status in (204, 304) or h.command == "HEAD":  # no body may follow
                h.end_headers()
                return
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            cut = None
            if fault in WATCH_FAULTS and response.status < 300:
                cut = threading.Event()
                # An idle watch sends nothing: cut it after a second even without a first chunk.
                timer = threading.Timer(1.0, lambda: (cut.set(), _shutdown(conn)))
                timer.daemon = True
                timer.start()
            try:
                while True:
                    try:
                        chunk = response.read1(65536)
                    except (OSError, ValueError, http.client.HTTPException):
                        chunk = b""
                    if chunk:
                        h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        h.wfile.flush()
                    if cut is not None and (chunk or cut.is_set()):
                        break
                    if not chunk:
                        break
                if fault == "watch-reset":
                    h.close_connection = True
                    _reset(h.connection)
                    return
                if fault == "watch-gone":
                    self.schedule.mark_gone(h.path.split("?")[0])
                h.wfile.write(b"0\r\n\r\n")
                h.wfile.flush()
                if cut is not None:
                    h.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                h.close_connection = True
        finally:
            conn.close()


def _shutdown(conn):
    try:
        if conn.sock:
            conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the real API server (its credentials are used)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rule", action="append", default=[], help="FAULT:every=N,first=N,path=RE,verb=A|B,limit=N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", help="append one JSON line per request here")
    parser.add_argument("--write-kubeconfig", help="write a kubeconfig pointing at the proxy here")
    args = parser.parse_args(argv)
    try:
        schedule = Schedule([parse_rule(r) for r in args.rule], seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    proxy = FaultProxy(args.kubeconfig, schedule, args.log, args.port).start()
    if args.write_kubeconfig:
        proxy.write_kubeconfig(args.write_kubeconfig)
    print("faultproxy on http://127.0.0.1:%d: %s" % (
        proxy.port, "; ".join(r.describe() for r in schedule.rules) or "no faults"), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
