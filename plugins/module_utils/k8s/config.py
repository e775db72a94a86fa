# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where Kubernetes credentials come from: module options, kubeconfig files (merged like kubectl), the pod's service account.

Order, as kubectl's (client-go's deferred loading rules):
1. explicit options (``kubeconfig``, ``context``, ``host``, ``api_key``, ...; the K8S_AUTH_* variables
   fill the same options, so they rank with them);
2. the files listed in ``KUBECONFIG`` (os.pathsep-separated, merged: the first file to define a
   cluster / user / context name wins, ``current-context`` comes from the first file that sets it;
   missing files are skipped);
3. ``~/.kube/config``;
4. the in-cluster service account, used only when no kubeconfig gives a context.

Ansible-free; the kubernetes package is only imported for exec plugins and auth providers.
"""
from __future__ import annotations

import atexit
import base64
import copy
import importlib.util
import ipaddress
import os
import shutil
import tempfile
from urllib.parse import urlsplit

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sConfigError

HAS_KUBERNETES = importlib.util.find_spec("kubernetes") is not None

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_KUBECONFIG = "~/.kube/config"
# What urllib3 can speak to; socks5 needs PySocks (kubectl speaks socks5 with remote DNS = socks5h).
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")

# kubeconfig user fields whose values are credentials: masked in every output of the module.
SECRET_USER_FIELDS = ("token", "password", "client-key-data")


class ConnectionSettings:
    """Where and how to connect; the attribute names follow kubernetes.client.Configuration."""

    def __init__(self, host=None):
        self.host = host
        self.source = None  # said in error messages: which credentials were used
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
        self.impersonate_user = None
        self.impersonate_groups = []
        self.impersonate_uid = None
        self.impersonate_extra = {}
        self.delegate = None  # a kubernetes Configuration that refreshes its own credentials

    def auth_settings(self):
        if self.delegate is not None:
            return self.delegate.auth_settings()
        token = self.token
        if self.token_file:
            with open(self.token_file) as f:  # re-read: projected service-account tokens rotate
                token = f.read().strip()
        return {"BearerToken": {"value": "Bearer " + token}} if token else {}

    def impersonation_headers(self):
        """Impersonate-* headers, as kubectl --as / --as-group / --as-uid / --as-user-extra send them."""
        headers = []
        if self.impersonate_user:
            headers.append(("Impersonate-User", self.impersonate_user))
            headers += [("Impersonate-Group", group) for group in self.impersonate_groups or []]
            if self.impersonate_uid:
                headers.append(("Impersonate-Uid", self.impersonate_uid))
            for key, values in sorted((self.impersonate_extra or {}).items()):
                for value in values if isinstance(values, list) else [values]:
                    headers.append(("Impersonate-Extra-" + key, value))
        return headers


def _env_bool(value):
    if isinstance(value, bool) or value is None:
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


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


# -- kubeconfig files -------------------------------------------------------------------------------

def kubeconfig_chain(environ=None):
    """The kubeconfig files kubectl would read without --kubeconfig: KUBECONFIG's list, else ~/.kube/config."""
    environ = os.environ if environ is None else environ
    listed = [p for p in (environ.get("KUBECONFIG") or "").split(os.pathsep) if p]
    paths = []
    for path in listed or [DEFAULT_KUBECONFIG]:
        if path.startswith("~" + os.sep) and environ.get("HOME"):
            path = os.path.join(environ["HOME"], path[2:])
        path = os.path.expanduser(path)
        if path not in paths:
            paths.append(path)
    return paths


def _read_file(path):
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise K8sConfigError("kubeconfig: %s cannot be read: %s" % (path, exc))
    if not isinstance(data, dict):
        raise K8sConfigError("kubeconfig: %s is not a kubeconfig (not a mapping)" % path)
    return data


# Paths inside a kubeconfig are relative to the file that holds them (kubectl's ResolveLocalPaths).
_PATH_FIELDS = {"clusters": ("certificate-authority",), "users": ("client-certificate", "client-key", "tokenFile")}


def _absolute(entry, section, base):
    body = entry.get(section.rstrip("s"))
    if not base or not isinstance(body, dict):
        return entry
    entry = copy.deepcopy(entry)
    body = entry[section.rstrip("s")]
    for field in _PATH_FIELDS.get(section, ()):
        value = body.get(field)
        if value and isinstance(value, str) and not os.path.isabs(value):
            body[field] = os.path.join(base, value)
    command = (body.get("exec") or {}).get("command") if section == "users" else None
    if command and os.sep in command and not os.path.isabs(command):
        body["exec"]["command"] = os.path.join(base, command)
    return entry


def merge_kubeconfigs(documents):
    """kubectl's merge of (data, base_dir) pairs: the first definition of a name wins, and the first current-context."""
    merged = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for data, base in documents:
        if not merged.get("current-context") and data.get("current-context"):
            merged["current-context"] = data["current-context"]
        for section in ("clusters", "users", "contexts"):
            known = {item.get("name") for item in merged[section]}
            for item in data.get(section) or []:
                if isinstance(item, dict) and item.get("name") not in known:
                    merged[section].append(_absolute(item, section, base))
                    known.add(item.get("name"))
    return merged


def read_kubeconfig(kubeconfig=None, environ=None):
    """(merged kubeconfig dict, description) from a dict, one path, or (None) the default chain."""
    if isinstance(kubeconfig, dict):
        return merge_kubeconfigs([(kubeconfig, None)]), "(dict)"
    if kubeconfig is not None:
        if not isinstance(kubeconfig, str):
            raise K8sConfigError("kubeconfig: expected a file path or a dict, got %s" % type(kubeconfig).__name__)
        path = os.path.expanduser(kubeconfig)
        if not os.path.exists(path):
            raise K8sConfigError("kubeconfig: file %s does not exist" % path)
        return merge_kubeconfigs([(_read_file(path), os.path.dirname(os.path.abspath(path)))]), path
    paths = [p for p in kubeconfig_chain(environ) if os.path.exists(p)]
    documents = [(_read_file(p), os.path.dirname(os.path.abspath(p))) for p in paths]
    return merge_kubeconfigs(documents), os.pathsep.join(paths) or "(none)"


def _named(items, name, what, source):
    for item in items or []:
        if item.get("name") == name:
            return item.get(what) or {}
    raise K8sConfigError("kubeconfig %s: %s %r is not defined" % (source, what, name))


def load_kubeconfig(kubeconfig, context, environ=None):
    """ConnectionSettings from a kubeconfig (dict, path, or None for the KUBECONFIG / ~/.kube/config chain)."""
    data, source = read_kubeconfig(kubeconfig, environ)
    contexts = [c.get("name") for c in data.get("contexts") or []]
    wanted = context or data.get("current-context")
    if not wanted:
        raise K8sConfigError("kubeconfig %s has no current-context; set context (available: %s)"
                             % (source, ", ".join(sorted(contexts)) or "none"))
    if wanted not in contexts:
        raise K8sConfigError("context: %r is not in kubeconfig %s; available contexts: %s"
                             % (wanted, source, ", ".join(sorted(contexts)) or "none"))
    ctx = _named(data.get("contexts"), wanted, "context", source)
    cluster = _named(data.get("clusters"), ctx.get("cluster"), "cluster", source)
    user = _named(data.get("users"), ctx.get("user"), "user", source) if ctx.get("user") else {}
    if user.get("exec") or user.get("auth-provider"):
        settings = _load_with_kubernetes(data, wanted)
    else:
        settings = ConnectionSettings(cluster.get("server"))
        if cluster.get("certificate-authority-data"):
            settings.ca_cert_data = base64.b64decode(cluster["certificate-authority-data"]).decode()
        settings.ssl_ca_cert = cluster.get("certificate-authority")
        settings.cert_file = user.get("client-certificate")
        settings.key_file = user.get("client-key")
        if user.get("client-certificate-data"):
            settings.cert_file = _data_file(user["client-certificate-data"], ".crt")
        if user.get("client-key-data"):
            settings.key_file = _data_file(user["client-key-data"], ".key")
        settings.token = user.get("token")
        settings.token_file = user.get("tokenFile")
        settings.username, settings.password = user.get("username"), user.get("password")
    if not settings.host:
        raise K8sConfigError("kubeconfig %s: cluster %r has no server" % (source, ctx.get("cluster")))
    settings.source = "kubeconfig %s, context %s" % (source, wanted)
    settings.verify_ssl = not _env_bool(cluster.get("insecure-skip-tls-verify", False))
    settings.tls_server_name = cluster.get("tls-server-name") or None
    settings.proxy = cluster.get("proxy-url") or None
    settings.impersonate_user = user.get("as") or None
    settings.impersonate_groups = list(user.get("as-groups") or [])
    settings.impersonate_uid = user.get("as-uid") or None
    settings.impersonate_extra = dict(user.get("as-user-extra") or {})
    return settings


def _load_with_kubernetes(data, context):
    if not HAS_KUBERNETES:
        raise K8sConfigError("the kubernetes Python library is required for exec / auth-provider credentials")
    from kubernetes.client import Configuration
    from kubernetes.config import kube_config
    from kubernetes.config.config_exception import ConfigException

    config = Configuration()
    try:
        kube_config.KubeConfigLoader(config_dict=data, active_context=context).load_and_set(config)
    except ConfigException as exc:
        raise K8sConfigError("kubeconfig cannot be used with context %r: %s" % (context, exc))
    settings = ConnectionSettings(config.host)
    settings.ssl_ca_cert, settings.cert_file, settings.key_file = config.ssl_ca_cert, config.cert_file, config.key_file
    settings.delegate = config
    return settings


def kubeconfig_secret_values(kubeconfig):
    """The credentials inside a kubeconfig given as a dict: tokens, passwords, keys, auth-provider and exec secrets.

    The rest (servers, names, paths) is not secret and stays readable in the task's invocation.
    """
    if not isinstance(kubeconfig, dict):
        return []
    values = []
    for entry in kubeconfig.get("users") or []:
        user = (entry or {}).get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        values += [user.get(field) for field in SECRET_USER_FIELDS]
        provider = user.get("auth-provider") or {}
        if isinstance(provider, dict):
            values += list((provider.get("config") or {}).values())
        command = user.get("exec") or {}
        if isinstance(command, dict):
            values += [item.get("value") for item in command.get("env") or [] if isinstance(item, dict)]
    return [str(v) for v in values if v not in (None, "") and not isinstance(v, (bool, dict, list))]


# -- in-cluster ---------------------------------------------------------------------------------

def in_cluster_possible(environ=None):
    """kubectl's test: the service's address in the environment and a mounted service-account token."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(os.path.join(SERVICE_ACCOUNT_DIR, "token"))


def in_cluster_settings(environ=None):
    environ = os.environ if environ is None else environ
    address, port = environ["KUBERNETES_SERVICE_HOST"], environ.get("KUBERNETES_SERVICE_PORT", "443")
    settings = ConnectionSettings("https://%s:%s" % ("[%s]" % address if ":" in address else address, port))
    settings.token_file = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    settings.ssl_ca_cert = os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")
    settings.source = "in-cluster service account"
    return settings


# -- proxies ------------------------------------------------------------------------------------

def _bypass(host, no_proxy):
    """Go's NO_PROXY rules: '*', exact hosts, domain suffixes ('.example.com' or 'example.com'), IPs and CIDRs."""
    host = (host or "").strip("[]").lower()
    for entry in (e.strip().lower() for e in (no_proxy or "").split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry  # host:port -> host
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry.strip("[]"), strict=False):
                return True
            continue
        except ValueError:
            pass
        entry = entry.lstrip("*")
        if host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")):
            return True
    return False


def _environment_proxy(url, environ):
    """The proxy Go's net/http would take from the environment for this URL (never for loopback)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    names = ("HTTPS_PROXY", "https_proxy") if parts.scheme == "https" else ("HTTP_PROXY", "http_proxy")
    proxy = next((environ[n] for n in names if environ.get(n)), None)
    if proxy and _bypass(host, environ.get("NO_PROXY") or environ.get("no_proxy")):
        return None
    return proxy


def check_proxy(proxy, field="proxy"):
    """The proxy URL as urllib3 wants it; a clear error for what it cannot speak."""
    if "://" not in proxy:
        proxy = "http://" + proxy  # as Go does for a bare host:port
    scheme = urlsplit(proxy).scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise K8sConfigError("%s: %s uses the %s scheme; supported are http, https and socks5"
                             % (field, proxy, scheme))
    if scheme.startswith("socks"):
        if importlib.util.find_spec("socks") is None:
            raise K8sConfigError("%s: %s is a SOCKS proxy, which needs the PySocks Python library on the "
                                 "host that runs the module (pip install pysocks)" % (field, proxy))
        proxy = "socks5h" + proxy[len(scheme):]  # kubectl lets the proxy resolve the name
    return proxy


def check_url(url, field="host"):
    """A clear error at once for an API server address that is not an http(s) URL (never retried)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise K8sConfigError("%s: %r is not an API server URL; write it with its scheme and host, for example "
                             "https://%s" % (field, url, (url or "127.0.0.1:6443").split("://")[-1]))
    try:
        parts.port
    except ValueError:
        raise K8sConfigError("%s: %r has an invalid port" % (field, url))
    return url


# -- the resolution order ---------------------------------------------------------------------------

def _given(auth):
    # An empty value (e.g. K8S_AUTH_KUBECONFIG="") means "not set", as with kubectl.
    return {k: v for k, v in (auth or {}).items() if v is not None and v != "" and v != []}


def resolve_configuration(auth, environ=None):
    """ConnectionSettings from module auth options (already merged with the K8S_AUTH_* environment)."""
    environ = os.environ if environ is None else environ
    auth = _given(auth)
    kubeconfig, context, host = auth.get("kubeconfig"), auth.get("context"), auth.get("host")

    if kubeconfig is not None or context is not None:
        config = load_kubeconfig(kubeconfig, context, environ)
    elif host:
        config = ConnectionSettings(host)
        config.source = "host option"
    else:
        data, _source = read_kubeconfig(None, environ)
        if data.get("current-context") or not in_cluster_possible(environ):
            if not data.get("contexts") and not in_cluster_possible(environ):
                raise K8sConfigError(
                    "no Kubernetes credentials found: set kubeconfig (or K8S_AUTH_KUBECONFIG / KUBECONFIG), or "
                    "host and api_key (K8S_AUTH_HOST, K8S_AUTH_API_KEY), or run inside a pod with a service account")
            config = load_kubeconfig(None, None, environ)
        else:
            config = in_cluster_settings(environ)

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
    if auth.get("impersonate_user"):
        config.impersonate_user = auth["impersonate_user"]
        config.impersonate_groups, config.impersonate_uid, config.impersonate_extra = [], None, {}
    if auth.get("impersonate_groups"):
        config.impersonate_groups = list(auth["impersonate_groups"])
    if config.impersonate_groups and not config.impersonate_user:
        raise K8sConfigError("impersonate_groups: needs impersonate_user (the API server impersonates a user "
                             "with groups, never groups alone)")
    if not config.host:
        raise K8sConfigError("host: no API server address could be determined")
    check_url(config.host, "host" if host else "kubeconfig server")

    field = "proxy"
    if auth.get("proxy"):
        config.proxy = auth["proxy"]
    elif config.proxy:
        field = "kubeconfig proxy-url"
    else:
        config.proxy, field = _environment_proxy(config.host, environ), "HTTPS_PROXY"
    if config.proxy and auth.get("no_proxy") and _bypass(urlsplit(config.host).hostname, auth["no_proxy"]):
        config.proxy = None
    if config.proxy:
        config.proxy = check_proxy(config.proxy, field)
    return config
