# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send requests to the Kubernetes API: raw JSON requests and watches under the one retry policy.

Ansible-free on purpose: modules hand over a dict of auth options (already merged with the
K8S_AUTH_* environment variables by the argument spec); config.py turns them into connection
settings (kubectl's order) and this file sends the requests through one urllib3 pool we own, so
every call gets the same retry policy (common/retry.py), the same error wording and a request counter.
"""
from __future__ import annotations

import json
import socket
import time

try:
    import urllib3
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    HAS_URLLIB3 = True
    URLLIB3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by sanity import tests
    HAS_URLLIB3 = False
    URLLIB3_IMPORT_ERROR = exc
    Urllib3HTTPError = OSError

from urllib.parse import urlencode

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import (
    DNS,
    REFUSED,
    TLS,
    TRANSIENT,
    RetryPolicy,
    classify_exception,
    exception_chain,
    parse_retry_after,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.config import resolve_configuration
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.connection import make_pool
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.kubeconfig import HAS_KUBERNETES, HAS_YAML
# The error classes are imported from here by the other k8s module_utils and the modules.
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import (
    K8sApiError,
    K8sConfigError,
    K8sError,
    K8sUnreachableError,
    api_error,
    is_retryable_status,
    short_reason,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.kinds import KNOWN_KINDS, group_path, resource_path

KUBERNETES_IMPORT_ERROR = None if HAS_KUBERNETES else ImportError("No module named 'kubernetes'")

# Before the server has answered once, give up on connection errors quickly: a wrong host or a
# stopped cluster should fail in seconds, not after the whole task timeout.
FIRST_CONTACT_BUDGET = 8.0
DEFAULT_TIMEOUT = 300.0
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
# Also the field manager of a write without fieldManager (the API server derives it from the User-Agent).
USER_AGENT = "statefuldb.k8s"


def missing_libraries():
    """Names of the Python libraries this file needs and cannot import (for missing_required_lib).

    kubernetes is only needed for auth-provider kubeconfigs and is reported when used.
    """
    missing = []
    if not HAS_YAML:
        missing.append(("PyYAML", ImportError("No module named 'yaml'")))
    if not HAS_URLLIB3:
        missing.append(("urllib3", URLLIB3_IMPORT_ERROR))
    return missing


class K8sClient:
    """JSON requests to the API server with the retry policy; counts what it sends."""

    def __init__(self, configuration, timeout=DEFAULT_TIMEOUT, pool=None, policy=None):
        if not getattr(configuration, "host", None):
            raise K8sConfigError("host: no API server address could be determined")
        self.configuration = configuration
        self.host = configuration.host.rstrip("/")
        self.policy = policy or RetryPolicy(timeout)
        self.pool = pool if pool is not None else make_pool(configuration)
        self.request_count = 0
        self.last_status = None
        self.last_headers = {}
        self.last_elapsed = 0.0
        self.contacted = False
        self._first_contact_end = None
        self._plural_cache = {}
        self.resent_after_delivery = False  # the last request was sent again after it may have reached the server

    @classmethod
    def from_auth(cls, auth, timeout=DEFAULT_TIMEOUT):
        return cls(resolve_configuration(auth), timeout=timeout)

    def _headers(self, content_type=None, accept="application/json"):
        # A header dict that can repeat a name: one Impersonate-Group header per group, as kubectl sends.
        headers = urllib3.HTTPHeaderDict({"Accept": accept, "User-Agent": USER_AGENT})
        if content_type:
            headers["Content-Type"] = content_type
        settings = self.configuration.auth_settings() if hasattr(self.configuration, "auth_settings") else {}
        token = (settings.get("BearerToken") or {}).get("value")
        if token:
            headers["Authorization"] = token
        elif getattr(self.configuration, "username", None):
            headers.update(urllib3.util.make_headers(
                basic_auth="%s:%s" % (self.configuration.username, self.configuration.password or "")))
        impersonation = getattr(self.configuration, "impersonation_headers", None)
        for name, value in impersonation() if impersonation else []:
            headers.add(name, value)
        return headers

    def url(self, path, query=None):
        query = {k: v for k, v in (query or {}).items() if v is not None}
        return self.host + path + ("?" + urlencode(query) if query else "")

    # -- the one place requests are sent -------------------------------------------------------
    def request(self, method, path, query=None, body=None, content_type=None, stream=False,
                read_timeout=READ_TIMEOUT, retry=True, deadline=None):
        """Send one request (plus retries); return the decoded JSON (or the raw response if stream).

        Raises K8sApiError for error statuses that are not retried, K8sUnreachableError when the
        server cannot be reached within the budget.
        """
        url = self.url(path, query)
        payload = None
        if body is not None:
            payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
        attempt = 0
        self.resent_after_delivery = False
        while True:
            attempt += 1
            budget_end = deadline
            if not self.contacted:
                first = self.policy.clock() + FIRST_CONTACT_BUDGET if attempt == 1 else self._first_contact_end
                self._first_contact_end = first
                budget_end = first if budget_end is None else min(budget_end, first)
            try:
                self.request_count += 1
                started = time.monotonic()
                response = self.pool.request(
                    method, url, body=payload, headers=self._headers(content_type),
                    timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=read_timeout),
                    preload_content=not stream, retries=False)
            except (ConnectionError, socket.error, Urllib3HTTPError) as exc:
                kind = classify_exception(exc)
                if kind == TLS:
                    # Never retried, and never "turn verification off": name the certificate to trust.
                    raise K8sUnreachableError(
                        "TLS verification of the API server %s failed (%s). Trust the CA that signed its "
                        "certificate: ca_cert (K8S_AUTH_SSL_CA_CERT) or certificate-authority in the kubeconfig; "
                        "if the certificate names another host, set tls-server-name in the kubeconfig cluster"
                        % (self.host, short_reason(exc)))
                if kind == DNS:
                    raise K8sUnreachableError(
                        "cannot resolve the API server's host name in %s (%s); check host / the kubeconfig "
                        "server" % (self.host, short_reason(exc)))
                # A refused connection before the server ever answered is most likely a wrong
                # address: retried only within the first-contact budget (set above).
                if retry and kind in (TRANSIENT, REFUSED) and self.policy.wait(attempt, budget_end=budget_end):
                    # The next attempt may repeat a write the server already did (see create).
                    self.resent_after_delivery = self.resent_after_delivery or (
                        kind == TRANSIENT and not _never_sent(exc))
                    continue
                raise K8sUnreachableError(
                    "cannot reach the Kubernetes API server at %s (%s) after %d attempt(s); check that "
                    "the cluster is running and that kubeconfig/context/host point to it"
                    % (self.host, short_reason(exc), attempt))
            self.contacted = True
            status = response.status
            self.last_status = status
            self.last_headers = dict(response.headers)
            self.last_elapsed = time.monotonic() - started
            if stream and status < 400:
                return response
            data = response.data if not stream else response.read()
            if stream:
                response.release_conn()
            decoded = _decode(data)
            if status < 400:
                return decoded
            retry_after = parse_retry_after(response.headers.get("Retry-After"),
                                            server_date=response.headers.get("Date"))
            if retry and is_retryable_status(status, decoded) and self.policy.wait(
                    attempt, retry_after=retry_after, budget_end=deadline):
                continue
            raise api_error(method, path, status, decoded)

    # -- conveniences --------------------------------------------------------------------------
    def plural(self, api_version, kind):
        """(plural, namespaced) for a kind; discovery is asked once for kinds we do not know."""
        key = (api_version, kind)
        if key in KNOWN_KINDS:
            return KNOWN_KINDS[key]
        if key not in self._plural_cache:
            listing = self.request("GET", group_path(api_version))
            for resource in listing.get("resources", []):
                if resource.get("kind") == kind and "/" not in resource.get("name", ""):
                    self._plural_cache[key] = (resource["name"], resource.get("namespaced", True))
                    break
            else:
                raise K8sError("kind: %s is not served by apiVersion %s on this cluster" % (kind, api_version))
        return self._plural_cache[key]

    def object_path(self, api_version, kind, namespace=None, name=None, subresource=None):
        plural, namespaced = self.plural(api_version, kind)
        return resource_path(api_version, plural, namespace if namespaced else None, name, subresource)

    def get(self, api_version, kind, name, namespace=None):
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", self.object_path(api_version, kind, namespace, name))
        except K8sApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None, **query):
        query.update({"labelSelector": label_selector, "fieldSelector": field_selector})
        return self.request("GET", self.object_path(api_version, kind, namespace), query=query)

    def delete(self, api_version, kind, name, namespace=None, propagation_policy=None, dry_run=False):
        """Delete; returns the API's answer, or None when the object was already gone."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        # With a body, the API server ignores query parameters: dryRun must be in DeleteOptions.
        query = None
        if dry_run:
            body["dryRun"] = ["All"]
        try:
            return self.request("DELETE", self.object_path(api_version, kind, namespace, name),
                                query=query, body=body, content_type="application/json")
        except K8sApiError as exc:
            if exc.status == 404:
                return None
            raise

    def patch(self, api_version, kind, name, namespace, body, patch_type="merge", dry_run=False,
              field_manager=None, force=None, subresource=None):
        content_types = {"merge": "application/merge-patch+json",
                         "strategic": "application/strategic-merge-patch+json",
                         "json": "application/json-patch+json",
                         "apply": "application/apply-patch+yaml"}
        query = {"fieldManager": field_manager, "dryRun": "All" if dry_run else None,
                 "force": ("true" if force else "false") if force is not None else None}
        return self.request("PATCH", self.object_path(api_version, kind, namespace, name, subresource),
                            query=query, body=body, content_type=content_types[patch_type])

    def create(self, api_version, kind, namespace, body, dry_run=False, field_manager=None):
        """POST a new object; returns the created object.

        A POST whose connection broke after it was sent may have created the object already: the retry
        then gets 409 AlreadyExists. The object is read, and returned as created (status 201) only when
        our field manager wrote it and it holds what we sent; otherwise the 409 stands.
        """
        query = {"fieldManager": field_manager, "dryRun": "All" if dry_run else None}
        try:
            return self.request("POST", self.object_path(api_version, kind, namespace), query=query, body=body,
                                content_type="application/json")
        except K8sApiError as exc:
            name = (body.get("metadata") or {}).get("name")
            if exc.status != 409 or exc.reason != "AlreadyExists" or not self.resent_after_delivery or not name:
                raise
            live = self.get(api_version, kind, name, namespace)
            if live is None or not created_by(live, body, field_manager or USER_AGENT):
                raise exc
            self.last_status = 201
            return live

    def watch(self, api_version, kind, namespace=None, resource_version=None, label_selector=None,
              field_selector=None, timeout_seconds=300, deadline=None):
        """Open a watch stream; yields decoded events until the server closes it.

        Raises K8sApiError(status 410) when the resourceVersion is too old (the caller re-lists).
        """
        query = {"watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "true",
                 "labelSelector": label_selector, "fieldSelector": field_selector,
                 "timeoutSeconds": str(int(max(1, timeout_seconds)))}
        response = self.request("GET", self.object_path(api_version, kind, namespace), query=query, stream=True,
                                read_timeout=timeout_seconds + 30, deadline=deadline)
        return _iter_events(response)


def _iter_events(response):
    buffer = b""
    try:
        for chunk in response.stream(16384, decode_content=True):
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    obj = event.get("object") or {}
                    raise K8sApiError(obj.get("message", "watch error"), status=obj.get("code"),
                                      reason=obj.get("reason"), body=obj)
                yield event
    finally:
        response.release_conn()


def _decode(data):
    if not data:
        return {}
    try:
        return json.loads(data)
    except ValueError:
        return {"message": data.decode("utf-8", "replace")[:500] if isinstance(data, bytes) else str(data)[:500]}


def _never_sent(exc):
    """Whether the request failed before any byte of it left (no connection was made)."""
    return any(type(item).__name__ in ("NewConnectionError", "ConnectTimeoutError")
               for item in exception_chain(exc))


def _holds(live, sent):
    if isinstance(sent, dict):
        return isinstance(live, dict) and all(key in live and _holds(live[key], value) for key, value in sent.items())
    if isinstance(sent, list):
        return isinstance(live, list) and len(live) == len(sent) and all(map(_holds, live, sent))
    return live == sent


def created_by(live, body, field_manager):
    """Whether ``live`` is the object ``body`` created: written by ``field_manager`` and holding what was sent.

    Server defaults added to it do not matter; a value it changed (a Secret's stringData turned into
    data, a quantity rewritten) makes it not ours, on the safe side.
    """
    meta = live.get("metadata") or {}
    if not any(e.get("manager") == field_manager and e.get("operation") == "Update"
               for e in meta.get("managedFields") or []):
        return False
    sent_meta = {k: v for k, v in (body.get("metadata") or {}).items() if k in ("name", "labels", "annotations")}
    sent = {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    return _holds(meta, sent_meta) and _holds(live, sent)
