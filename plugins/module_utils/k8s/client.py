# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connect to the Kubernetes API: auth resolution, one retry policy, raw JSON requests, watches.

Ansible-free on purpose: modules hand over a dict of auth options (already merged with the
K8S_AUTH_* environment variables by the argument spec) and get back a K8sClient.

The kubernetes package is used only to read kubeconfig / in-cluster credentials (it knows exec
plugins, token refresh and auth providers); requests go through one urllib3 pool we own, so every
call gets the same retry policy, the same error wording and a request counter.
"""
from __future__ import annotations

import json
import os
import random
import socket
import time

try:
    import urllib3
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    from urllib3.exceptions import (
        MaxRetryError,
        NewConnectionError,
        ProtocolError,
        ReadTimeoutError,
        ConnectTimeoutError,
        SSLError,
    )
    HAS_URLLIB3 = True
    URLLIB3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by sanity import tests
    HAS_URLLIB3 = False
    URLLIB3_IMPORT_ERROR = exc

# The kubernetes package costs a few hundred milliseconds to import; it is only loaded for the
# kubeconfig features we do not read ourselves (exec plugins, auth providers).
import importlib.util

HAS_KUBERNETES = importlib.util.find_spec("kubernetes") is not None
KUBERNETES_IMPORT_ERROR = None if HAS_KUBERNETES else ImportError("No module named 'kubernetes'")

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False

import atexit
import base64
import shutil
import tempfile

from urllib.parse import quote, urlencode

RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
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


class K8sError(Exception):
    """A failure with a message meant for the user (no traceback needed)."""

    def __init__(self, msg, status=None, reason=None, body=None):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.reason = reason
        self.body = body or {}

    @property
    def causes(self):
        return (self.body.get("details") or {}).get("causes") or []


class K8sConfigError(K8sError):
    """Credentials or kubeconfig cannot be used (wrong context, missing file, ...)."""


class K8sUnreachableError(K8sError):
    """The API server did not answer within the retry budget."""


class K8sApiError(K8sError):
    """The API server answered with an error status."""


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


class RetryPolicy:
    """Jittered exponential backoff inside a deadline; the one policy every call uses."""

    def __init__(self, timeout=DEFAULT_TIMEOUT, base=0.2, cap=5.0, clock=time.monotonic,
                 sleep=time.sleep, rand=random.random):
        self.timeout = float(timeout)
        self.base = base
        self.cap = cap
        self.clock = clock
        self.sleep = sleep
        self.rand = rand
        self.deadline = clock() + self.timeout

    def remaining(self):
        return self.deadline - self.clock()

    def backoff(self, attempt, retry_after=None):
        """Seconds to wait before attempt number ``attempt`` (1-based), "full jitter"."""
        if retry_after is not None:
            return min(float(retry_after), self.cap)
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        return ceiling / 2 + self.rand() * ceiling / 2

    def wait(self, attempt, retry_after=None, budget_end=None):
        """Sleep before the next attempt; False when the deadline (or budget) would pass."""
        delay = self.backoff(attempt, retry_after)
        end = self.deadline if budget_end is None else min(self.deadline, budget_end)
        if self.clock() + delay > end:
            return False
        self.sleep(delay)
        return True


def is_retryable_status(status, body):
    """429/5xx, and 409s that mean "try again" (object modified meanwhile, or still being deleted)."""
    if status in RETRY_STATUSES:
        return True
    if status == 409:
        message = (body or {}).get("message", "") or ""
        reason = (body or {}).get("reason", "")
        if "the object has been modified" in message or "is being deleted" in message:
            return True
        if reason == "AlreadyExists" and "deleted" in message:
            return True
    return False


def _env_bool(value):
    if isinstance(value, bool) or value is None:
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class ConnectionSettings:
    """Where and how to connect; the attribute names follow kubernetes.client.Configuration."""

    def __init__(self, host=None):
        self.host = host
        self.verify_ssl = True
        self.ssl_ca_cert = None
        self.ca_cert_data = None
        self.cert_file = None
        self.key_file = None
        self.tls_server_name = None
        self.assert_hostname = None
        self.proxy = None
        self.proxy_headers = None
        self.token = None
        self.token_file = None
        self.username = None
        self.password = None
        self.delegate = None  # a kubernetes Configuration that refreshes its own credentials

    def auth_settings(self):
        if self.delegate is not None:
            return self.delegate.auth_settings()
        token = self.token
        if self.token_file:
            with open(self.token_file) as f:  # re-read: projected service-account tokens rotate
                token = f.read().strip()
        return {"BearerToken": {"value": "Bearer " + token}} if token else {}


_TEMP_DIR = []


def _data_file(data, suffix):
    """Write base64 kubeconfig *-data to a private temporary file (urllib3 wants client certs as files)."""
    if not _TEMP_DIR:
        _TEMP_DIR.append(tempfile.mkdtemp(prefix="statefuldb-k8s-"))
        atexit.register(shutil.rmtree, _TEMP_DIR[0], True)
    fd, path = tempfile.mkstemp(dir=_TEMP_DIR[0], suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64decode(data))
    return path


def _named(items, name, what, source):
    for item in items or []:
        if item.get("name") == name:
            return item.get(what.rstrip("s")) or {}
    raise K8sConfigError("kubeconfig %s: %s %r is not defined" % (source, what.rstrip("s"), name))


def _read_kubeconfig(kubeconfig):
    if isinstance(kubeconfig, dict):
        return kubeconfig, None, "(dict)"
    path = os.path.expanduser(kubeconfig)
    if not os.path.exists(path):
        raise K8sConfigError("kubeconfig: file %s does not exist" % path)
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise K8sConfigError("kubeconfig: %s cannot be read: %s" % (path, exc))
    if not isinstance(data, dict):
        raise K8sConfigError("kubeconfig: %s is not a kubeconfig (not a mapping)" % path)
    return data, os.path.dirname(path), path


def _relative(base, value):
    if value and base and not os.path.isabs(value):
        return os.path.join(base, value)
    return value


def load_kubeconfig(kubeconfig, context):
    """ConnectionSettings from a kubeconfig file or dict; exec plugins and auth providers go to kubernetes."""
    data, base, source = _read_kubeconfig(kubeconfig)
    contexts = [c.get("name") for c in data.get("contexts") or []]
    wanted = context or data.get("current-context")
    if not wanted:
        raise K8sConfigError("kubeconfig %s has no current-context; set context (available: %s)"
                             % (source, ", ".join(sorted(contexts)) or "none"))
    if wanted not in contexts:
        raise K8sConfigError("context: %r is not in kubeconfig %s; available contexts: %s"
                             % (wanted, source, ", ".join(sorted(contexts)) or "none"))
    ctx = _named(data.get("contexts"), wanted, "contexts", source)
    cluster = _named(data.get("clusters"), ctx.get("cluster"), "clusters", source)
    user = _named(data.get("users"), ctx.get("user"), "users", source) if ctx.get("user") else {}
    if user.get("exec") or user.get("auth-provider"):
        return _load_with_kubernetes(kubeconfig, wanted)
    settings = ConnectionSettings(cluster.get("server"))
    if not settings.host:
        raise K8sConfigError("kubeconfig %s: cluster %r has no server" % (source, ctx.get("cluster")))
    settings.verify_ssl = not cluster.get("insecure-skip-tls-verify", False)
    settings.ssl_ca_cert = _relative(base, cluster.get("certificate-authority"))
    if cluster.get("certificate-authority-data"):
        settings.ca_cert_data = base64.b64decode(cluster["certificate-authority-data"]).decode()
    settings.tls_server_name = cluster.get("tls-server-name")
    settings.proxy = cluster.get("proxy-url")
    settings.cert_file = _relative(base, user.get("client-certificate"))
    settings.key_file = _relative(base, user.get("client-key"))
    if user.get("client-certificate-data"):
        settings.cert_file = _data_file(user["client-certificate-data"], ".crt")
    if user.get("client-key-data"):
        settings.key_file = _data_file(user["client-key-data"], ".key")
    settings.token = user.get("token")
    settings.token_file = _relative(base, user.get("tokenFile"))
    settings.username, settings.password = user.get("username"), user.get("password")
    return settings


def _load_with_kubernetes(kubeconfig, context):
    if not HAS_KUBERNETES:
        raise K8sConfigError("the kubernetes Python library is required for exec / auth-provider credentials")
    from kubernetes.client import Configuration
    from kubernetes.config import kube_config
    from kubernetes.config.config_exception import ConfigException

    config = Configuration()
    try:
        if isinstance(kubeconfig, dict):
            kube_config.KubeConfigLoader(config_dict=kubeconfig, active_context=context).load_and_set(config)
        else:
            kube_config.load_kube_config(config_file=os.path.expanduser(kubeconfig), context=context,
                                         client_configuration=config, persist_config=False)
    except ConfigException as exc:
        raise K8sConfigError("kubeconfig cannot be used with context %r: %s" % (context, exc))
    settings = ConnectionSettings(config.host)
    settings.verify_ssl = config.verify_ssl
    settings.ssl_ca_cert, settings.cert_file, settings.key_file = config.ssl_ca_cert, config.cert_file, config.key_file
    settings.proxy = config.proxy
    settings.delegate = config
    return settings


def resolve_configuration(auth):
    """ConnectionSettings from module auth options (already merged with the K8S_AUTH_* environment).

    Order: kubeconfig/context when given, else host (+ api_key / client certs), else the in-cluster
    service account, else ~/.kube/config (or the first file in KUBECONFIG).
    """
    # An empty value (e.g. K8S_AUTH_KUBECONFIG="") means "not set", as with kubectl.
    auth = {k: v for k, v in (auth or {}).items() if v is not None and v != ""}
    kubeconfig = auth.get("kubeconfig")
    context = auth.get("context")
    host = auth.get("host")
    default_kubeconfig = os.path.expanduser(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(
        os.path.join(SERVICE_ACCOUNT_DIR, "token"))

    if kubeconfig is not None or context is not None:
        config = load_kubeconfig(kubeconfig if kubeconfig is not None else default_kubeconfig, context)
    elif host:
        config = ConnectionSettings(host)
    elif in_cluster:
        config = ConnectionSettings("https://%s:%s" % (
            os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")))
        if ":" in os.environ["KUBERNETES_SERVICE_HOST"]:  # IPv6
            config.host = "https://[%s]:%s" % (os.environ["KUBERNETES_SERVICE_HOST"],
                                               os.environ.get("KUBERNETES_SERVICE_PORT", "443"))
        config.token_file = os.path.join(SERVICE_ACCOUNT_DIR, "token")
        config.ssl_ca_cert = os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")
    elif os.path.exists(default_kubeconfig):
        config = load_kubeconfig(default_kubeconfig, None)
    else:
        raise K8sConfigError(
            "no Kubernetes credentials found: set kubeconfig (or K8S_AUTH_KUBECONFIG), or host and "
            "api_key (K8S_AUTH_HOST, K8S_AUTH_API_KEY), or run inside a pod with a service account")

    if host:
        config.host = host
    if auth.get("api_key"):
        config.token, config.token_file, config.delegate = auth["api_key"], None, None
    for option, attribute in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"),
                              ("client_key", "key_file")):
        path = auth.get(option)
        if path:
            path = os.path.expanduser(path)
            if not os.path.exists(path):
                raise K8sConfigError("%s: file %s does not exist" % (option, path))
            setattr(config, attribute, path)
    if auth.get("validate_certs") is not None:
        config.verify_ssl = _env_bool(auth["validate_certs"])
    if auth.get("proxy"):
        config.proxy = auth["proxy"]
    if not config.host:
        raise K8sConfigError("host: no API server address could be determined")
    return config


def _ordinal_path(api_version):
    return "/api/v1" if api_version == "v1" else "/apis/" + api_version


def resource_path(api_version, plural, namespace=None, name=None, subresource=None):
    parts = [_ordinal_path(api_version)]
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
        if getattr(config, "tls_server_name", None):
            pool_args["server_hostname"] = config.tls_server_name
        if not config.verify_ssl:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if config.proxy:
            return urllib3.ProxyManager(config.proxy, proxy_headers=getattr(config, "proxy_headers", None),
                                        **pool_args)
        return urllib3.PoolManager(**pool_args)

    def _headers(self, content_type=None, accept="application/json"):
        headers = {"Accept": accept, "User-Agent": "statefuldb.k8s"}
        if content_type:
            headers["Content-Type"] = content_type
        settings = self.configuration.auth_settings() if hasattr(self.configuration, "auth_settings") else {}
        token = (settings.get("BearerToken") or {}).get("value")
        if token:
            headers["Authorization"] = token
        elif getattr(self.configuration, "username", None):
            headers.update(urllib3.util.make_headers(
                basic_auth="%s:%s" % (self.configuration.username, self.configuration.password or "")))
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
            except (NewConnectionError, ConnectTimeoutError, ProtocolError, ReadTimeoutError,
                    MaxRetryError, SSLError, ConnectionError, socket.error, Urllib3HTTPError) as exc:
                if isinstance(exc, SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise K8sUnreachableError(
                        "TLS verification of the API server %s failed: %s. Set ca_cert "
                        "(K8S_AUTH_SSL_CA_CERT) or validate_certs: false" % (self.host, _short(exc)))
                if retry and self.policy.wait(attempt, budget_end=budget_end):
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
            retry_after = response.headers.get("Retry-After")
            try:
                retry_after = float(retry_after) if retry_after else None
            except ValueError:
                retry_after = None
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
            listing = self.request("GET", _ordinal_path(api_version))
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
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset",
                   "No route to host", "certificate verify failed"):
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
