# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig files: the KUBECONFIG chain, kubectl's merge, one context's connection settings, its secrets."""
from __future__ import annotations

import atexit
import base64
import copy
import importlib.util
import os
import shutil
import tempfile

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.connection import ConnectionSettings, env_bool
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sConfigError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.exec_credential import INSTALL_ADVICE, ExecCredential

HAS_KUBERNETES = importlib.util.find_spec("kubernetes") is not None
DEFAULT_KUBECONFIG = "~/.kube/config"
# kubeconfig user fields whose values are credentials: masked in every output of the module.
SECRET_USER_FIELDS = ("token", "password", "client-key-data")


_TEMP_DIR = []


def _data_file(data, suffix, encoded=True):
    """Write kubeconfig *-data (base64, or PEM text when not ``encoded``) to a private temporary file.

    urllib3 wants client certificates as files.
    """
    if not _TEMP_DIR:
        _TEMP_DIR.append(tempfile.mkdtemp(prefix="statefuldb-k8s-"))
        atexit.register(shutil.rmtree, _TEMP_DIR[0], True)
    fd, path = tempfile.mkstemp(dir=_TEMP_DIR[0], suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64decode(data) if encoded else data.encode())
    return path


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


def load_kubeconfig(kubeconfig, context, environ=None, run_exec=True):
    """ConnectionSettings from a kubeconfig (dict, path, or None for the KUBECONFIG / ~/.kube/config chain).

    An exec credential plugin runs here (its failure is a K8sConfigError naming the user and the command),
    unless ``run_exec`` is false: api_key replaces the kubeconfig's credentials.
    """
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
    if user.get("auth-provider"):
        settings = _load_with_kubernetes(data, wanted, ctx.get("user"), user["auth-provider"])
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
        if run_exec and user.get("exec") and not (settings.token or settings.token_file):
            # The kubernetes library's order: a token in the kubeconfig wins over the exec plugin.
            settings.credential = ExecCredential(ctx.get("user"), user["exec"], cluster)
            status = settings.credential.run()
            if not status.get("token"):
                settings.cert_file = _data_file(status["clientCertificateData"], ".crt", encoded=False)
                settings.key_file = _data_file(status["clientKeyData"], ".key", encoded=False)
    if not settings.host:
        raise K8sConfigError("kubeconfig %s: cluster %r has no server" % (source, ctx.get("cluster")))
    settings.source = "kubeconfig %s, context %s" % (source, wanted)
    settings.verify_ssl = not env_bool(cluster.get("insecure-skip-tls-verify", False))
    settings.tls_server_name = cluster.get("tls-server-name") or None
    settings.proxy = cluster.get("proxy-url") or None
    settings.impersonate_user = user.get("as") or None
    settings.impersonate_groups = list(user.get("as-groups") or [])
    settings.impersonate_uid = user.get("as-uid") or None
    settings.impersonate_extra = dict(user.get("as-user-extra") or {})
    return settings


def _load_with_kubernetes(data, context, user_name, provider):
    """An auth-provider user (gcp, oidc) through the kubernetes library, whose errors name the user and provider."""
    if not HAS_KUBERNETES:
        raise K8sConfigError("kubeconfig user %r: the kubernetes Python library is required for auth-provider "
                             "credentials" % user_name)
    from kubernetes.client import Configuration
    from kubernetes.config import kube_config
    from kubernetes.config.config_exception import ConfigException

    config = Configuration()
    try:
        kube_config.KubeConfigLoader(config_dict=data, active_context=context).load_and_set(config)
    except Exception as exc:  # ConfigException, and gcp/oidc's google-auth, oauthlib, subprocess errors
        raise K8sConfigError(_provider_failure(user_name, provider, exc, ConfigException))
    settings = ConnectionSettings(config.host)
    settings.ssl_ca_cert, settings.cert_file, settings.key_file = config.ssl_ca_cert, config.cert_file, config.key_file
    settings.delegate = config
    return settings


def _provider_failure(user_name, provider, exc, config_exception):
    """What the kubernetes library's auth-provider failure says, prefixed with the user and the provider."""
    name = provider.get("name") if isinstance(provider, dict) else None
    text = "kubeconfig user %r: its auth-provider %r failed" % (user_name, name)
    if isinstance(exc, FileNotFoundError):
        return "%s: command %r not found on the PATH of the host where the module runs; %s" % (
            text, exc.filename, INSTALL_ADVICE)
    kind = "" if isinstance(exc, config_exception) else type(exc).__name__ + ": "
    return "%s: %s%s" % (text, kind, " ".join(str(exc).split())[:500])


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
