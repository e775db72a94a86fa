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

from urllib.parse import quote, urlencode

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import (
    DNS,
    REFUSED,
    TLS,
    TRANSIENT,
    RetryPolicy,
    classify_exception,
    classify_status,
    parse_retry_after,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.config import (
    HAS_KUBERNETES,
    HAS_YAML,
    resolve_configuration,
)
# The error classes are imported from here by the other k8s module_utils and the modules.
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import (
    K8sApiError,
    K8sConfigError,
    K8sError,
    K8sUnreachableError,
)

KUBERNETES_IMPORT_ERROR = None if HAS_KUBERNETES else ImportError("No module named 'kubernetes'")

# Before the server has answered once, give up on connection errors quickly: a wrong host or a
# stopped cluster should fail in seconds, not after the whole task timeout.
FIRST_CONTACT_BUDGET = 8.0
DEFAULT_TIMEOUT = 300.0
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0

# (group/version, kind) -> (plural, namespaced). Covers what the collection manages; anything else
# goes through discovery once.
KNOWN_KINDS = {
    ("v1", "Pod"): ("pods", True),
    ("v1", "Service"): ("services", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "PersistentVolume"): ("persistentvolumes", False),
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Event"): ("events", True),
    ("v1", "Endpoints"): ("endpoints", True),
    ("v1", "Node"): ("nodes", False),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "ControllerRevision"): ("controllerrevisions", True),
    ("discovery.k8s.io/v1", "EndpointSlice"): ("endpointslices", True),
    ("storage.k8s.io/v1", "StorageClass"): ("storageclasses", False),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
    ("batch/v1", "Job"): ("jobs", True),
}


def missing_libraries():
    """Names of the Python libraries this file needs and cannot import (for missing_required_lib).

    kubernetes is only needed for exec / auth-provider kubeconfigs and is reported when used.
    """
    missing = []
    if not HAS_YAML:
        missing.append(("PyYAML", ImportError("No module named 'yaml'")))
    if not HAS_URLLIB3:
        missing.append(("urllib3", URLLIB3_IMPORT_ERROR))
    return missing


def is_retryable_status(status, body):
    """429/502/503/504, a 500 that is not a refusal of the input, and 409s that mean "try again"."""
    message = ((body or {}).get("message", "") or "") if isinstance(body, dict) else ""
    if classify_status(status, message) == TRANSIENT:
        return True
    if status == 409:
        reason = (body or {}).get("reason", "")
        if "the object has been modified" in message or "is being deleted" in message:
            return True
        if reason == "AlreadyExists" and "deleted" in message:
            return True
    return False


def _group_path(api_version):
    """The API group's root: /api/v1 for the core group, /apis/{group}/{version} for the others."""
    return "/api/v1" if api_version == "v1" else "/apis/" + api_version


def resource_path(api_version, plural, namespace=None, name=None, subresource=None):
    parts = [_group_path(api_version)]
    if namespace:
        parts += ["namespaces", quote(namespace, safe="")]
    parts.append(plural)
    if name:
        parts.append(quote(name, safe=""))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


class K8sClient:
    """JSON requests to the API server with the retry policy; counts what it sends."""

    def __init__(self, configuration, timeout=DEFAULT_TIMEOUT, pool=None, policy=None):
        if not getattr(configuration, "host", None):
            raise K8sConfigError("host: no API server address could be determined")
        self.configuration = configuration
        self.host = configuration.host.rstrip("/")
        self.policy = policy or RetryPolicy(timeout)
        self.pool = pool if pool is not None else self._make_pool(configuration)
        self.request_count = 0
        self.last_status = None
        self.last_headers = {}
        self.last_elapsed = 0.0
        self.contacted = False
        self._first_contact_end = None
        self._plural_cache = {}

    @classmethod
    def from_auth(cls, auth, timeout=DEFAULT_TIMEOUT):
        return cls(resolve_configuration(auth), timeout=timeout)

    @staticmethod
    def _make_pool(config):
        import ssl

        pool_args = {
            "cert_reqs": ssl.CERT_REQUIRED if config.verify_ssl else ssl.CERT_NONE,
            "ca_certs": config.ssl_ca_cert,
            "cert_file": config.cert_file,
            "key_file": config.key_file,
            "retries": False,
            "maxsize": 4,
        }
        if getattr(config, "ca_cert_data", None):
            pool_args["ca_cert_data"] = config.ca_cert_data
        if getattr(config, "assert_hostname", None) is not None:
            pool_args["assert_hostname"] = config.assert_hostname
        # SNI and the name the certificate must carry, on the direct and every proxied path alike.
        if getattr(config, "tls_server_name", None):
            pool_args["server_hostname"] = config.tls_server_name
        if not config.verify_ssl:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        proxy = getattr(config, "proxy", None)
        if proxy and proxy.lower().startswith("socks"):
            from urllib3.contrib.socks import SOCKSProxyManager  # config.check_proxy made sure PySocks is there

            return SOCKSProxyManager(proxy, **pool_args)
        if proxy:
            return urllib3.ProxyManager(proxy, proxy_headers=getattr(config, "proxy_headers", None), **pool_args)
        return urllib3.PoolManager(**pool_args)

    def _headers(self, content_type=None, accept="application/json"):
        # A header dict that can repeat a name: one Impersonate-Group header per group, as kubectl sends.
        headers = urllib3.HTTPHeaderDict({"Accept": accept, "User-Agent": "statefuldb.k8s"})
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
                        % (self.host, _short(exc)))
                if kind == DNS:
                    raise K8sUnreachableError(
                        "cannot resolve the API server's host name in %s (%s); check host / the kubeconfig "
                        "server" % (self.host, _short(exc)))
                # A refused connection before the server ever answered is most likely a wrong
                # address: retried only within the first-contact budget (set above).
                if retry and kind in (TRANSIENT, REFUSED) and self.policy.wait(attempt, budget_end=budget_end):
                    continue
                raise K8sUnreachableError(
                    "cannot reach the Kubernetes API server at %s (%s) after %d attempt(s); check that "
                    "the cluster is running and that kubeconfig/context/host point to it"
                    % (self.host, _short(exc), attempt))
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
            listing = self.request("GET", _group_path(api_version))
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
        query = {"fieldManager": field_manager, "dryRun": "All" if dry_run else None}
        return self.request("POST", self.object_path(api_version, kind, namespace), query=query, body=body,
                            content_type="application/json")

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


def _short(exc):
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                   "timed out", "Connection reset", "No route to host", "certificate verify failed",
                   "Hostname mismatch"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text[:200]


def api_error(method, path, status, body):
    message = body.get("message") if isinstance(body, dict) else None
    reason = body.get("reason") if isinstance(body, dict) else None
    if status == 401:
        text = "the API server rejected the credentials (401 Unauthorized); check api_key/kubeconfig user"
    elif status == 403:
        text = "forbidden (403): %s" % message
    else:
        text = "%s %s failed (%s %s): %s" % (method, path.split("?")[0], status, reason or "", message or body)
    return K8sApiError(text, status=status, reason=reason, body=body if isinstance(body, dict) else {})
