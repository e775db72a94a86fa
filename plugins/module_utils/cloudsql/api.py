# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud SQL Admin API v1 calls under the common retry policy, with clear errors and operation waits."""

from __future__ import annotations

import errno
import socket
import ssl
import time

try:
    import google.auth.exceptions as google_auth_exceptions
    import requests
except ImportError:  # pragma: no cover - the module reports missing_required_lib first
    google_auth_exceptions = None
    requests = None

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import (
    RetryPolicy,
    exception_chain,
    parse_retry_after,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.validation import path_part

TRANSIENT = "transient"
PERMANENT = "permanent"
# A connect timeout: transient once the endpoint has answered in this task, permanent before
# (nothing came back at all: a wrong address or egress dropped by a firewall).
CONNECT_TIMEOUT = "connect-timeout"

# HTTP statuses worth another attempt (409 operationInProgress is decided by the reason).
RETRYABLE_STATUS = frozenset((429, 500, 502, 503, 504))

_REFUSED = (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH)


class CloudSqlError(Exception):
    """A failure the module reports as it is (message already names what to fix)."""

    def __init__(self, message, status=None, reason=None, details=None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.details = details or {}


class StaleSettingsError(CloudSqlError):
    """412: the settingsVersion we sent is no longer current."""


class OperationInProgressError(CloudSqlError):
    """409 operationInProgress that outlived the retry window."""


class OperationFailedError(CloudSqlError):
    """A long-running operation finished with an error."""


class NotFoundError(CloudSqlError):
    """404 for an object other than the instance (callers decide what it means)."""


def already_exists(exc):
    """Does this failure say the object to create is already there (HTTP 409 or the operation)?"""
    if isinstance(exc, OperationInProgressError) or getattr(exc, "reason", None) == "operationInProgress":
        return False
    if exc.status == 409 or exc.reason == "alreadyExists":
        return True
    return isinstance(exc, OperationFailedError) and (
        "ALREADY_EXISTS" in str(exc) or "already exists" in str(exc).lower())


def connection_failure(exc):
    """(kind, why) for an exception raised while sending a request: the Cloud SQL classifier.

    Permanent: DNS failure, refused or unreachable, TLS verification, malformed URL.
    Connect timeout: see CONNECT_TIMEOUT. Transient: read timeouts, resets, the peer closing
    the connection mid-response.
    """
    causes = exception_chain(exc)
    for cause in causes:
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
    for cause in causes:
        if type(cause).__name__ in ("ConnectTimeout", "ConnectTimeoutError"):
            return CONNECT_TIMEOUT, "no connection within the request timeout"
    return TRANSIENT, str(exc)


def _error_parts(response):
    """(message, reason) of a Google JSON error response, robust to non-JSON bodies."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:500], None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return str(body)[:500], None
    reason = None
    for item in error.get("errors") or []:
        if isinstance(item, dict) and item.get("reason"):
            reason = item["reason"]
            break
    return error.get("message") or error.get("status") or "", reason


class CloudSqlClient(object):
    """Admin API calls for one instance of one project."""

    def __init__(self, session, project, instance, api_endpoint="https://sqladmin.googleapis.com/",
                 request_timeout=30, wait_timeout=600, sleep=time.sleep, clock=time.monotonic):
        self.session = session
        self.project = project
        self.instance = instance
        self.endpoint = api_endpoint
        self.base = api_endpoint.rstrip("/") + "/v1"
        self.request_timeout = request_timeout
        self.wait_timeout = wait_timeout
        self.sleep = sleep
        self.clock = clock
        # One deadline for the whole task: requests, retries and operation waits share it. The
        # server's Retry-After is honoured in full (a longer one than the deadline fails at once).
        self.policy = RetryPolicy(wait_timeout, base=0.5, cap=8.0, clock=clock, sleep=sleep,
                                  retry_after_cap=float(wait_timeout))
        self.reached = False  # has the endpoint answered at all in this task?
        # Writes sent whose answer never came (a reset, a read timeout): the API may have acted.
        self.unanswered_writes = 0

    # ---- transport and the one retry policy -------------------------------------------------
    def _describe(self):
        return "Cloud SQL instance %r in project %r" % (self.instance, self.project)

    def request(self, method, path, params=None, body=None, what=None):
        """Send one API request; retry transient failures until the task's deadline."""
        url = self.base + path
        what = what or "%s %s" % (method, path)
        attempt = 0
        while True:
            attempt += 1
            timeout = max(1.0, min(self.request_timeout, self.policy.remaining()))
            try:
                response = self.session.request(method, url, params=params, json=body, timeout=timeout)
            except google_auth_exceptions.RefreshError as exc:
                raise CloudSqlError("Could not obtain an access token (%s). Check the "
                                    "credentials (auth_kind, service account key)." % exc, status=401)
            except google_auth_exceptions.GoogleAuthError as exc:
                raise CloudSqlError("Google authentication failed: %s" % exc, status=401)
            except requests.RequestException as exc:
                kind, why = connection_failure(exc)
                if kind == CONNECT_TIMEOUT and not self.reached:
                    kind = PERMANENT
                if kind == TRANSIENT and method != "GET":
                    self.unanswered_writes += 1
                if kind == PERMANENT or not self.policy.wait(attempt, until_deadline=True):
                    raise CloudSqlError(
                        "Failed to %s: could not reach the Cloud SQL Admin API at api_endpoint=%s: %s%s. "
                        "Check api_endpoint and that this host may connect to it (proxy, firewall)."
                        % (what, self.endpoint, why,
                           "" if kind == PERMANENT else " (gave up after wait_timeout=%ss)" % self.wait_timeout))
                continue
            self.reached = True
            if response.status_code < 400:
                if not response.content:
                    return {}
                return response.json()
            message, reason = _error_parts(response)
            status = response.status_code
            retryable = status in RETRYABLE_STATUS or (status == 409 and reason == "operationInProgress")
            retry_after = parse_retry_after((getattr(response, "headers", None) or {}).get("Retry-After"))
            if retryable and retry_after is not None and retry_after > self.policy.remaining():
                # Re-sending sooner than asked only earns another refusal: say so now.
                error = self._error(status, reason, message, what)
                raise CloudSqlError(
                    "%s; the API asked to retry after %gs (Retry-After), more than the %.0fs left of "
                    "wait_timeout=%ss" % (error, retry_after, max(0.0, self.policy.remaining()), self.wait_timeout),
                    status, reason)
            if retryable and self.policy.wait(attempt, retry_after=retry_after, until_deadline=True):
                continue
            raise self._error(status, reason, message, what)

    def _error(self, status, reason, message, what):
        if status == 401:
            return CloudSqlError(
                "Failed to %s: the Admin API rejected the credentials (401: %s). The credentials "
                "are missing, invalid or expired; check auth_kind and the key or token."
                % (what, message), status, reason)
        if status == 403:
            return CloudSqlError(
                "Failed to %s: permission denied (403: %s) on %s. The credentials lack "
                "permission; grant the service account roles/cloudsql.admin (or "
                "cloudsql.instances.update / users / databases permissions) on project %r."
                % (what, message, self._describe(), self.project), status, reason)
        if status == 404:
            return NotFoundError("Failed to %s: not found (404: %s) for %s." % (what, message, self._describe()),
                                 status, reason)
        if status == 412:
            return StaleSettingsError("Failed to %s: settings changed concurrently (412: %s)"
                                      % (what, message), status, reason)
        if status == 409 and reason == "operationInProgress":
            return OperationInProgressError(
                "Failed to %s: another operation is still running on %s (409: %s) after %ss"
                % (what, self._describe(), message, self.wait_timeout), status, reason)
        return CloudSqlError("Failed to %s on %s (%s: %s)" % (what, self._describe(), status, message),
                             status, reason)

    def _instance_path(self, suffix=""):
        return "/projects/%s/instances/%s%s" % (path_part(self.project), path_part(self.instance), suffix)

    # ---- instances ---------------------------------------------------------------------------
    def get_instance(self):
        try:
            return self.request("GET", self._instance_path(), what="read the instance")
        except NotFoundError as exc:
            raise CloudSqlError("Cloud SQL instance %r was not found in project %r (404). Check "
                                "`project` and `instance`. (%s)" % (self.instance, self.project, exc),
                                status=404, reason=exc.reason)

    def patch_instance(self, body):
        return self.request("PATCH", self._instance_path(), body=body, what="update the instance settings")

    # ---- operations --------------------------------------------------------------------------
    def get_operation(self, name):
        return self.request("GET", "/projects/%s/operations/%s" % (path_part(self.project), path_part(name)),
                            what="read operation %s" % name)

    def wait_operation(self, operation):
        """Poll the operation with backoff until DONE (within the task's deadline)."""
        attempt = 0
        while operation.get("status") != "DONE":
            attempt += 1
            if not self.policy.wait(attempt, until_deadline=True):
                raise CloudSqlError(
                    "Operation %s (%s) on %s did not finish within wait_timeout=%ss (last status %s); "
                    "it may still complete, check it with `gcloud sql operations describe %s`."
                    % (operation.get("name"), operation.get("operationType"), self._describe(),
                       self.wait_timeout, operation.get("status"), operation.get("name")))
            operation = self.get_operation(operation["name"])
        errors = ((operation.get("error") or {}).get("errors")) or []
        if errors:
            text = "; ".join("%s: %s" % (e.get("code", "ERROR"), e.get("message", "")) for e in errors)
            raise OperationFailedError("Operation %s (%s) on %s failed: %s"
                                       % (operation.get("name"), operation.get("operationType"),
                                          self._describe(), text))
        return operation

    def create(self, insert, find):
        """POST a create and wait for its operation.

        A create is retried like every request, so a POST the API applied but whose response
        was lost (a timeout, a reset) is sent again and then fails with "already exists". When
        that happens and the object is there, the create succeeded: return what find() sees.
        """
        try:
            self.wait_operation(insert())
        except CloudSqlError as exc:
            if not already_exists(exc):
                raise
            found = find()
            if found is None:
                raise
            return found
        return find()

    # ---- users -------------------------------------------------------------------------------
    def list_users(self):
        return self.request("GET", self._instance_path("/users"), what="list users").get("items", [])

    def insert_user(self, user):
        return self.request("POST", self._instance_path("/users"), body=user,
                            what="create user %s" % user.get("name"))

    def update_user(self, name, host, user):
        params = {"name": name}
        if host is not None:
            params["host"] = host
        return self.request("PUT", self._instance_path("/users"), params=params, body=user,
                            what="update user %s" % name)

    def delete_user(self, name, host):
        params = {"name": name}
        if host is not None:
            params["host"] = host
        return self.request("DELETE", self._instance_path("/users"), params=params,
                            what="delete user %s" % name)

    # ---- databases ---------------------------------------------------------------------------
    def list_databases(self):
        return self.request("GET", self._instance_path("/databases"),
                            what="list databases").get("items", [])

    def get_database(self, name):
        try:
            return self.request("GET", self._instance_path("/databases/%s" % path_part(name)),
                                what="read database %s" % name)
        except NotFoundError:
            return None

    def insert_database(self, database):
        return self.request("POST", self._instance_path("/databases"), body=database,
                            what="create database %s" % database.get("name"))

    def patch_database(self, name, database):
        return self.request("PATCH", self._instance_path("/databases/%s" % path_part(name)), body=database,
                            what="update database %s" % name)

    def delete_database(self, name):
        return self.request("DELETE", self._instance_path("/databases/%s" % path_part(name)),
                            what="delete database %s" % name)
