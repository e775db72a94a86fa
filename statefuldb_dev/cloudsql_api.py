# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local fake of the Cloud SQL Admin API v1 and a Google OAuth 2.0 token endpoint.

It serves real HTTP on 127.0.0.1 (one thread per request) with the documented shapes and the
semantics our modules rely on:

- POST /token accepts only a JWT-bearer grant (RFC 7523) signed RS256 by a registered service
  account key (the signature is verified with the key's public key) and issues bearer tokens;
  every /v1 call checks the bearer token (401 otherwise) and the project's permission (403).
- instances.get / instances.patch: PATCH merges settings, replaces whole lists (e.g.
  settings.ipConfiguration.authorizedNetworks) and refuses a stale settings.settingsVersion
  with 412. Conflicting sslMode/requireSsl pairs are refused with 400.
- Every write returns a long-running Operation that goes PENDING -> RUNNING -> DONE on the clock;
  its effect is applied when it is DONE. A write while another operation on the same instance
  is not DONE gets 409 operationInProgress. fail_next_operation() makes one end with an error.
- users (list/get/insert/update/delete) and databases (list/get/insert/patch/delete).
- lose_next_response(method, path_suffix): the next matching request is applied, then the
  connection is closed without a response (a timeout or reset after the API acted), so the
  client retries a request that already took effect.
- race_on_next_read(): right after our next instances.get, "another client" adds an entry and
  bumps settingsVersion, so the caller's PATCH is stale (not while an operation runs on the
  instance: a real client's write would get 409 then, so the race waits for a later read).
- busy_on_next_read(seconds): right after our next instances.get, another client's operation
  starts on the instance, so the caller's write meets 409 operationInProgress for that long.
- inject_errors(status, every, limit, retry_after, method, path_suffix): a schedule of 429 / 503
  answers (every Nth matching /v1 request, before anything acts), with the JSON error bodies
  Google's front end sends: 429 RESOURCE_EXHAUSTED (reason rateLimitExceeded, an ErrorInfo
  RATE_LIMIT_EXCEEDED detail; with retry_after also a Retry-After header and a RetryInfo
  detail), 503 UNAVAILABLE (reason backendError).
- gate_next_reads(project, instance, count): the next `count` instances.get calls are answered
  only once all of them have arrived, so that many concurrent clients read the same
  settingsVersion (a deterministic read-modify-write race).
Writes are counted (write_count, writes) so tests can prove nothing was written; request_log
has every /v1 request (monotonic arrival time, verb, path, status; None when the answer was lost).
"""

from __future__ import annotations

import base64
import copy
import datetime
import ipaddress
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCEPTED_SCOPES = ("https://www.googleapis.com/auth/sqlservice.admin",
                   "https://www.googleapis.com/auth/cloud-platform")
SSL_PAIRS = {"ALLOW_UNENCRYPTED_AND_ENCRYPTED": False, "ENCRYPTED_ONLY": False,
             "TRUSTED_CLIENT_CERTIFICATE_REQUIRED": True}


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _rfc3339(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_time(text):
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    return datetime.datetime.fromisoformat(value)


class ApiError(Exception):
    def __init__(self, code, message, reason, status, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.headers = headers or {}
        self.body = {"error": {"code": code, "message": message, "status": status,
                               "errors": [{"domain": "global", "reason": reason, "message": message}]}}
        if details:
            self.body["error"]["details"] = details


def throttled_error(project, retry_after=None):
    """429 as Google's API front end answers a request over the per-minute quota."""
    message = ("Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service "
               "'sqladmin.googleapis.com' for consumer 'project_number:123456789012'.")
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {"service": "sqladmin.googleapis.com", "quota_metric": "sqladmin.googleapis.com/default",
                             "quota_limit": "defaultPerMinutePerUser", "consumer": "projects/%s" % project}}]
    headers = {}
    if retry_after is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "%gs" % retry_after})
        headers["Retry-After"] = "%d" % retry_after
    return ApiError(429, message, "rateLimitExceeded", "RESOURCE_EXHAUSTED", details, headers)


def unavailable_error():
    """503 as Google's front end answers when the backend is briefly unavailable."""
    return ApiError(503, "The service is currently unavailable.", "backendError", "UNAVAILABLE")


class ErrorSchedule(object):
    """Every `every`th matching request (from the `first`th on) gets `status`, at most `limit` times."""

    def __init__(self, status, every=1, limit=None, first=1, retry_after=None, method=None, path_suffix=None):
        if status not in (429, 503):
            raise ValueError("inject_errors: status must be 429 or 503")
        self.status, self.every, self.limit, self.first = status, max(1, every), limit, max(1, first)
        self.retry_after, self.method, self.path_suffix = retry_after, method, path_suffix
        self.seen = 0
        self.fired = 0

    def take(self, method, path, project):
        if (self.method and method != self.method) or (self.path_suffix and not path.endswith(self.path_suffix)):
            return None
        self.seen += 1
        if self.seen < self.first or (self.seen - self.first) % self.every:
            return None
        if self.limit is not None and self.fired >= self.limit:
            return None
        self.fired += 1
        return throttled_error(project, self.retry_after) if self.status == 429 else unavailable_error()


def _merge(target, patch):
    """PATCH semantics: objects merge field by field, lists and scalars replace."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeCloudSql(object):
    def __init__(self, pending_seconds=0.15, running_seconds=0.35):
        self.lock = threading.RLock()
        self.pending_seconds = pending_seconds
        self.running_seconds = running_seconds
        self.instances = {}
        self.users = {}
        self.databases = {}
        self.operations = {}
        self.service_accounts = {}
        self.tokens = {}
        self.denied_projects = set()
        self.fail_next = {}
        self.race_next = {}
        self.busy_next = {}
        self.lose_next = []
        self.error_schedules = []
        self.gates = {}
        self.writes = []
        self.requests = []
        self.request_log = []
        self.token_requests = 0
        self.backends = {}
        self.server = None
        self.thread = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self):
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/" % self.server.server_address[1]

    @property
    def token_uri(self):
        return self.base_url + "token"

    # ---- test controls --------------------------------------------------------------------
    def add_service_account(self, client_email, public_key):
        with self.lock:
            self.service_accounts[client_email] = public_key

    def add_access_token(self, token):
        with self.lock:
            self.tokens[token] = {"sub": "access-token", "expires": time.time() + 3600}

    def deny_project(self, project):
        with self.lock:
            self.denied_projects.add(project)

    def add_instance(self, project, name, public_ip="127.0.0.1", server_ca_pem="", region="europe-west1",
                     authorized_networks=None, ssl_mode="ALLOW_UNENCRYPTED_AND_ENCRYPTED"):
        created = _now()
        instance = {
            "kind": "sql#instance",
            "name": name,
            "project": project,
            "region": region,
            "gceZone": region + "-b",
            "state": "RUNNABLE",
            "databaseVersion": "MYSQL_8_0",
            "backendType": "SECOND_GEN",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "connectionName": "%s:%s:%s" % (project, region, name),
            "selfLink": "https://sqladmin.googleapis.com/v1/projects/%s/instances/%s" % (project, name),
            "ipAddresses": [{"type": "PRIMARY", "ipAddress": public_ip},
                            {"type": "OUTGOING", "ipAddress": "192.0.2.10"}],
            "serverCaCert": {
                "kind": "sql#sslCert",
                "certSerialNumber": "0",
                "cert": server_ca_pem,
                "commonName": "C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA,dnQualifier=fake",
                "sha1Fingerprint": "00" * 20,
                "instance": name,
                "createTime": _rfc3339(created),
                "expirationTime": _rfc3339(created + datetime.timedelta(days=3650)),
            },
            "settings": {
                "kind": "sql#settings",
                "settingsVersion": "1",
                "tier": "db-custom-1-3840",
                "activationPolicy": "ALWAYS",
                "ipConfiguration": {
                    "ipv4Enabled": True,
                    "authorizedNetworks": copy.deepcopy(authorized_networks or []),
                    "requireSsl": SSL_PAIRS[ssl_mode],
                    "sslMode": ssl_mode,
                },
            },
        }
        with self.lock:
            self.instances[(project, name)] = instance
            self.users[(project, name)] = [{"kind": "sql#user", "name": "root", "host": "%",
                                            "type": "BUILT_IN", "password": None}]
            self.databases[(project, name)] = [
                self._database(project, name, db, "utf8mb3", "utf8mb3_general_ci")
                for db in ("information_schema", "mysql", "performance_schema", "sys")]
        return instance

    def attach_mysql(self, project, instance, execute):
        """Make user and database operations of an instance really happen in a MySQL server:
        execute(statement, params) runs one SQL statement there (the 'instance' behind the API)."""
        with self.lock:
            self.backends[(project, instance)] = execute

    def _sql(self, key, statement, params=()):
        execute = self.backends.get(key)
        if execute is None:
            return
        try:
            execute(statement, params)
        except Exception as exc:  # the server's refusal becomes the operation's error
            raise ApiError(400, "MySQL refused %s: %s" % (statement.split(" ")[0], exc), "invalid",
                           "INVALID_ARGUMENT")

    def fail_next_operation(self, project, instance, message, code="INTERNAL_ERROR"):
        with self.lock:
            self.fail_next[(project, instance)] = {"kind": "sql#operationError", "code": code,
                                                   "message": message}

    def start_busy_operation(self, project, instance, seconds, operation_type="BACKUP_VOLUME"):
        """Another client's long operation on the instance (writes get 409 until it is DONE)."""
        with self.lock:
            op = self._operation(project, instance, operation_type, lambda: None, "someone-else")
            self.operations[(project, op["name"])]["_running"] = seconds
            return op

    def lose_next_response(self, method, path_suffix):
        """Apply the next `method` request whose path ends with path_suffix, then drop the
        connection without answering."""
        with self.lock:
            self.lose_next.append((method, path_suffix))

    def _take_loss(self, method, path):
        with self.lock:
            for armed in self.lose_next:
                if armed[0] == method and path.endswith(armed[1]):
                    self.lose_next.remove(armed)
                    return True
        return False

    def race_on_next_read(self, project, instance, entry):
        with self.lock:
            self.race_next[(project, instance)] = dict(entry, kind="sql#aclEntry")

    def busy_on_next_read(self, project, instance, seconds):
        with self.lock:
            self.busy_next[(project, instance)] = seconds

    def inject_errors(self, status, every=1, limit=None, first=1, retry_after=None, method=None, path_suffix=None):
        """Answer every `every`th /v1 request matching method / path_suffix with 429 or 503 (see the
        module docstring), before it acts; returns the schedule (its .fired counts the answers)."""
        schedule = ErrorSchedule(status, every, limit, first, retry_after, method, path_suffix)
        with self.lock:
            self.error_schedules.append(schedule)
        return schedule

    def gate_next_reads(self, project, instance, count, timeout=10.0):
        """Hold the next `count` instances.get of the instance until all have arrived (or timeout)."""
        with self.lock:
            self.gates[(project, instance)] = [threading.Barrier(count, timeout=timeout), count]

    def clear_faults(self):
        """Disarm every fault armed above (schedules, gates, races, lost responses, failures)."""
        with self.lock:
            self.error_schedules = []
            self.gates = {}
            self.race_next = {}
            self.busy_next = {}
            self.lose_next = []
            self.fail_next = {}

    def _take_gate(self, method, path):
        parts = [p for p in path.split("/") if p]
        if method != "GET" or len(parts) != 5 or parts[:2] != ["v1", "projects"] or parts[3] != "instances":
            return None
        with self.lock:
            gate = self.gates.get((parts[2], parts[4]))
            if gate is None:
                return None
            gate[1] -= 1  # each of the `count` readers waits on the same barrier
            if not gate[1]:
                del self.gates[(parts[2], parts[4])]
            return gate[0]

    @property
    def write_count(self):
        with self.lock:
            return len(self.writes)

    def instance(self, project, name):
        with self.lock:
            self._advance()
            return copy.deepcopy(self.instances[(project, name)])

    def authorized_networks(self, project, name):
        conf = self.instance(project, name)["settings"]["ipConfiguration"]
        return conf.get("authorizedNetworks") or []

    def user(self, project, instance, name, host="%"):
        with self.lock:
            self._advance()
            for user in self.users[(project, instance)]:
                if user["name"] == name and user.get("host", "") == (host or ""):
                    return copy.deepcopy(user)
        return None

    def user_by_name(self, project, instance, name):
        with self.lock:
            self._advance()
            for user in self.users[(project, instance)]:
                if user["name"] == name:
                    return copy.deepcopy(user)
        return None

    def database(self, project, instance, name):
        with self.lock:
            self._advance()
            for db in self.databases[(project, instance)]:
                if db["name"] == name:
                    return copy.deepcopy(db)
        return None

    def wait_idle(self, timeout=10, instance=None):
        """Wait until every operation (of one instance, when given) is DONE. The fake is shared by
        a test session, and other tests leave deliberately long operations on their instances."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                self._advance()
                if all(op["status"] == "DONE" for op in self.operations.values()
                       if instance is None or op["targetId"] == instance):
                    return
            time.sleep(0.05)
        raise AssertionError("fake operations did not finish")

    # ---- OAuth token endpoint ---------------------------------------------------------------
    def issue_token(self, form):
        self.token_requests += 1
        if form.get("grant_type") != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "Only the JWT bearer grant is supported here."}
        try:
            header_b64, claims_b64, signature_b64 = form.get("assertion", "").split(".")
            header = json.loads(_b64url_decode(header_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, TypeError):
            return 400, {"error": "invalid_grant", "error_description": "Malformed JWT assertion."}
        if header.get("alg") != "RS256":
            return 400, {"error": "invalid_grant", "error_description": "JWT must be signed with RS256."}
        public_key = self.service_accounts.get(claims.get("iss"))
        if public_key is None:
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant: account not found"}
        try:
            public_key.verify(signature, ("%s.%s" % (header_b64, claims_b64)).encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        now = time.time()
        # google-auth signs for Google's token endpoint whatever token_uri it posts to.
        if claims.get("aud") not in (self.token_uri, GOOGLE_TOKEN_AUDIENCE):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: audience mismatch."}
        if not (claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0)):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a short-lived token."}
        scopes = (claims.get("scope") or "").split()
        if not any(scope in ACCEPTED_SCOPES for scope in scopes):
            return 400, {"error": "invalid_scope", "error_description": "No accepted scope requested."}
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = {"sub": claims["iss"], "expires": now + 3600}
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    # ---- operations -------------------------------------------------------------------------
    def _advance(self):
        now = time.monotonic()
        for op in self.operations.values():
            if op["status"] == "DONE":
                continue
            elapsed = now - op["_started"]
            pending = op.get("_pending", self.pending_seconds)
            running = op.get("_running", self.running_seconds)
            if elapsed < pending:
                continue
            if op["status"] == "PENDING":
                op["status"] = "RUNNING"
                op["startTime"] = _rfc3339(_now())
            if elapsed >= pending + running:
                op["status"] = "DONE"
                op["endTime"] = _rfc3339(_now())
                if op.get("_error"):
                    op["error"] = {"kind": "sql#operationErrors", "errors": [op["_error"]]}
                else:
                    try:
                        op["_effect"]()
                    except ApiError as exc:
                        op["error"] = {"kind": "sql#operationErrors",
                                       "errors": [{"kind": "sql#operationError",
                                                   "code": exc.body["error"]["status"],
                                                   "message": str(exc)}]}

    def _busy(self, project, instance):
        for op in self.operations.values():
            if op["targetProject"] == project and op["targetId"] == instance and op["status"] != "DONE":
                return True
        return False

    def _operation(self, project, instance, operation_type, effect, user):
        if self._busy(project, instance):
            raise ApiError(409, "Operation failed because another operation was already in progress. "
                           "Try your request after the current operation is complete.",
                           "operationInProgress", "ABORTED")
        name = "%s-%s" % (secrets.token_hex(4), secrets.token_hex(12))
        op = {
            "kind": "sql#operation",
            "name": name,
            "targetLink": "https://sqladmin.googleapis.com/v1/projects/%s/instances/%s" % (project, instance),
            "targetId": instance,
            "targetProject": project,
            "status": "PENDING",
            "user": user,
            "insertTime": _rfc3339(_now()),
            "operationType": operation_type,
            "selfLink": "https://sqladmin.googleapis.com/v1/projects/%s/operations/%s" % (project, name),
            "_started": time.monotonic(),
            "_effect": effect,
        }
        failure = self.fail_next.pop((project, instance), None)
        if failure:
            op["_error"] = failure
        self.operations[(project, name)] = op
        return self._public_op(op)

    @staticmethod
    def _public_op(op):
        return {k: copy.deepcopy(v) for k, v in op.items() if not k.startswith("_")}

    # ---- API dispatch -----------------------------------------------------------------------
    def handle_api(self, method, path, query, body, token):
        with self.lock:
            self._advance()
            grant = self.tokens.get(token or "")
            if not grant or grant["expires"] < time.time():
                raise ApiError(401, "Request is missing required authentication credential. Expected "
                               "OAuth 2 access token, login cookie or other valid authentication "
                               "credential.", "required", "UNAUTHENTICATED")
            parts = [p for p in path.split("/") if p]
            if len(parts) < 4 or parts[0] != "v1" or parts[1] != "projects":
                raise ApiError(404, "Not found: %s" % path, "notFound", "NOT_FOUND")
            project = parts[2]
            if project in self.denied_projects:
                raise ApiError(403, "The client is not authorized to make this request.",
                               "notAuthorized", "PERMISSION_DENIED")
            user = grant["sub"]
            for schedule in self.error_schedules:
                error = schedule.take(method, path, project)
                if error is not None:
                    raise error
            if parts[3] == "operations" and len(parts) == 5 and method == "GET":
                op = self.operations.get((project, parts[4]))
                if op is None:
                    raise ApiError(404, "The Cloud SQL operation does not exist.", "operationDoesNotExist", "NOT_FOUND")
                return 200, self._public_op(op)
            if parts[3] != "instances" or len(parts) < 5:
                raise ApiError(404, "Not found: %s" % path, "notFound", "NOT_FOUND")
            key = (project, parts[4])
            if key not in self.instances:
                raise ApiError(404, "The Cloud SQL instance does not exist.", "instanceDoesNotExist", "NOT_FOUND")
            if method != "GET":
                self.writes.append((method, path))
            rest = parts[5:]
            if not rest:
                return self._instance_call(key, method, body, user)
            if rest[0] == "users":
                return self._users_call(key, method, rest[1:], query, body, user)
            if rest[0] == "databases":
                return self._databases_call(key, method, rest[1:], body, user)
            raise ApiError(404, "Not found: %s" % path, "notFound", "NOT_FOUND")

    def _drop_expired(self, instance):
        conf = instance["settings"].get("ipConfiguration") or {}
        now = _now()
        conf["authorizedNetworks"] = [e for e in conf.get("authorizedNetworks") or []
                                      if not e.get("expirationTime") or _parse_time(e["expirationTime"]) > now]

    def _instance_call(self, key, method, body, user):
        instance = self.instances[key]
        if method == "GET":
            self._drop_expired(instance)
            response = copy.deepcopy(instance)
            race = None if self._busy(*key) else self.race_next.pop(key, None)
            if race:
                # Another client changes the settings between our read and our write.
                instance["settings"]["ipConfiguration"]["authorizedNetworks"].append(race)
                instance["settings"]["settingsVersion"] = str(int(instance["settings"]["settingsVersion"]) + 1)
            busy = None if self._busy(*key) else self.busy_next.pop(key, None)
            if busy:
                self.start_busy_operation(key[0], key[1], busy)
            return 200, response
        if method != "PATCH":
            raise ApiError(405, "Method not allowed", "badRequest", "INVALID_ARGUMENT")
        settings = copy.deepcopy((body or {}).get("settings") or {})
        sent_version = settings.pop("settingsVersion", None)
        if sent_version is not None and str(sent_version) != instance["settings"]["settingsVersion"]:
            raise ApiError(412, "Precondition check failed.", "staleData", "FAILED_PRECONDITION")
        self._validate_ip_configuration(settings.get("ipConfiguration"))

        def effect():
            _merge(instance["settings"], settings)
            instance["settings"]["settingsVersion"] = str(int(instance["settings"]["settingsVersion"]) + 1)

        if self._busy(*key):
            raise ApiError(409, "Operation failed because another operation was already in progress. "
                           "Try your request after the current operation is complete.",
                           "operationInProgress", "ABORTED")
        # The settings version moves when the update is applied (its operation DONE); until then
        # every other write gets 409 operationInProgress.
        op = self._operation(key[0], key[1], "UPDATE", effect, user)
        return 200, op

    @staticmethod
    def _validate_ip_configuration(conf):
        if not conf:
            return
        for entry in conf.get("authorizedNetworks") or []:
            try:
                network = ipaddress.ip_network(entry.get("value", ""), strict=True)
                if network.version != 4:
                    raise ValueError
            except ValueError:
                raise ApiError(400, "Invalid request: Invalid value for authorized network: %s"
                               % entry.get("value"), "invalid", "INVALID_ARGUMENT")
            if entry.get("expirationTime"):
                try:
                    _parse_time(entry["expirationTime"])
                except ValueError:
                    raise ApiError(400, "Invalid value at 'expirationTime'", "invalid", "INVALID_ARGUMENT")
        mode, require = conf.get("sslMode"), conf.get("requireSsl")
        if mode is not None and mode not in SSL_PAIRS:
            raise ApiError(400, "Invalid value at 'ssl_mode': %s" % mode, "invalid", "INVALID_ARGUMENT")
        if mode is not None and require is not None and SSL_PAIRS[mode] != require:
            raise ApiError(400, "Invalid request: ssl_mode %s conflicts with require_ssl %s."
                           % (mode, require), "invalid", "INVALID_ARGUMENT")

    def _users_call(self, key, method, rest, query, body, user):
        users = self.users[key]
        if method == "GET":
            if rest:
                host = query.get("host", "%")
                for item in users:
                    if item["name"] == rest[0] and item.get("host", "") == host:
                        return 200, self._public_user(key, item)
                raise ApiError(404, "The Cloud SQL user does not exist.", "userDoesNotExist", "NOT_FOUND")
            return 200, {"kind": "sql#usersList", "items": [self._public_user(key, u) for u in users]}
        if method == "POST":
            body = dict(body or {})
            if not body.get("name"):
                raise ApiError(400, "Invalid request: missing user name.", "invalid", "INVALID_ARGUMENT")
            user_type = body.get("type") or "BUILT_IN"
            host = body.get("host", "%") if user_type == "BUILT_IN" else ""

            def effect():
                if any(u["name"] == body["name"] and u.get("host", "") == host for u in users):
                    raise ApiError(409, "User %s already exists." % body["name"], "alreadyExists", "ALREADY_EXISTS")
                if user_type == "BUILT_IN":
                    self._sql(key, "CREATE USER %s@%s IDENTIFIED BY %s", (body["name"], host, body.get("password") or ""))
                    self._sql(key, "GRANT ALL PRIVILEGES ON *.* TO %s@%s", (body["name"], host))
                users.append({"kind": "sql#user", "name": body["name"], "host": host,
                              "type": user_type, "password": body.get("password")})
            return 200, self._operation(key[0], key[1], "CREATE_USER", effect, user)
        name, host = query.get("name"), query.get("host", "")
        target = next((u for u in users if u["name"] == name and u.get("host", "") == host), None)
        if target is None:
            raise ApiError(404, "The Cloud SQL user does not exist.", "userDoesNotExist", "NOT_FOUND")
        if method == "PUT":
            def effect():
                if (body or {}).get("password") is not None:
                    if target.get("type", "BUILT_IN") == "BUILT_IN":
                        self._sql(key, "ALTER USER %s@%s IDENTIFIED BY %s", (target["name"], target["host"], body["password"]))
                    target["password"] = body["password"]
            return 200, self._operation(key[0], key[1], "UPDATE_USER", effect, user)
        if method == "DELETE":
            def delete_effect():
                if target.get("type", "BUILT_IN") == "BUILT_IN":
                    self._sql(key, "DROP USER %s@%s", (target["name"], target["host"]))
                users.remove(target)
            return 200, self._operation(key[0], key[1], "DELETE_USER", delete_effect, user)
        raise ApiError(405, "Method not allowed", "badRequest", "INVALID_ARGUMENT")

    def _public_user(self, key, item):
        out = {k: v for k, v in item.items() if k != "password"}
        out.update(project=key[0], instance=key[1], etag=secrets.token_hex(8))
        return out

    def _database(self, project, instance, name, charset, collation):
        return {"kind": "sql#database", "name": name, "charset": charset, "collation": collation,
                "instance": instance, "project": project, "etag": secrets.token_hex(8),
                "selfLink": "https://sqladmin.googleapis.com/v1/projects/%s/instances/%s/databases/%s"
                            % (project, instance, name)}

    def _databases_call(self, key, method, rest, body, user):
        dbs = self.databases[key]
        if not rest:
            if method == "GET":
                return 200, {"kind": "sql#databasesList", "items": copy.deepcopy(dbs)}
            if method == "POST":
                body = dict(body or {})
                if not body.get("name"):
                    raise ApiError(400, "Invalid request: missing database name.", "invalid", "INVALID_ARGUMENT")

                def effect():
                    if any(d["name"] == body["name"] for d in dbs):
                        raise ApiError(409, "Database %s already exists." % body["name"], "alreadyExists", "ALREADY_EXISTS")
                    charset = body.get("charset") or "utf8mb4"
                    collation = body.get("collation") or ("utf8mb4_0900_ai_ci" if charset == "utf8mb4"
                                                          else charset + "_general_ci")
                    self._sql(key, "CREATE DATABASE `%s` CHARACTER SET %s%s" % (
                        body["name"].replace("`", ""), charset,
                        " COLLATE %s" % body["collation"] if body.get("collation") else ""))
                    dbs.append(self._database(key[0], key[1], body["name"], charset, collation))
                return 200, self._operation(key[0], key[1], "CREATE_DATABASE", effect, user)
            raise ApiError(405, "Method not allowed", "badRequest", "INVALID_ARGUMENT")
        target = next((d for d in dbs if d["name"] == rest[0]), None)
        if target is None:
            raise ApiError(404, "The Cloud SQL database does not exist.", "databaseDoesNotExist", "NOT_FOUND")
        if method == "GET":
            return 200, copy.deepcopy(target)
        if method == "PATCH":
            changes = {k: v for k, v in (body or {}).items() if k in ("charset", "collation")}

            def effect():
                self._sql(key, "ALTER DATABASE `%s`%s%s" % (
                    target["name"].replace("`", ""),
                    " CHARACTER SET %s" % changes["charset"] if changes.get("charset") else "",
                    " COLLATE %s" % changes["collation"] if changes.get("collation") else ""))
                if "charset" in changes and "collation" not in changes:
                    target["collation"] = changes["charset"] + "_general_ci"
                target.update(changes)
                target["etag"] = secrets.token_hex(8)
            return 200, self._operation(key[0], key[1], "UPDATE_DATABASE", effect, user)
        if method == "DELETE":
            def drop_effect():
                self._sql(key, "DROP DATABASE `%s`" % target["name"].replace("`", ""))
                dbs.remove(target)
            return 200, self._operation(key[0], key[1], "DELETE_DATABASE", drop_effect, user)
        raise ApiError(405, "Method not allowed", "badRequest", "INVALID_ARGUMENT")


class _Handler(BaseHTTPRequestHandler):
    fake = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, code, payload, headers=None):
        data = json.dumps(payload).encode()
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        raw = self._body()
        if url.path == "/token" and method == "POST":
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            code, payload = self.fake.issue_token(form)
            return self._send(code, payload)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        auth = self.headers.get("Authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._send(400, {"error": {"code": 400, "message": "Invalid JSON payload received.",
                                              "status": "INVALID_ARGUMENT"}})
        record = {"t": time.monotonic(), "verb": method, "path": url.path, "status": None, "watch": False}
        with self.fake.lock:
            self.fake.requests.append((method, url.path))
            self.fake.request_log.append(record)
        gate = self.fake._take_gate(method, url.path)
        if gate is not None:
            try:  # outside the lock: the other readers must get in
                gate.wait()
            except threading.BrokenBarrierError:
                pass
        try:
            code, payload = self.fake.handle_api(method, url.path, query, body, token)
        except ApiError as exc:
            record["status"] = exc.code
            return self._send(exc.code, exc.body, exc.headers)
        if self.fake._take_loss(method, url.path):
            # Applied, but the client never hears back.
            self.close_connection = True
            return None
        record["status"] = code
        return self._send(code, payload)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")
