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

Ansible-free; the kubernetes package is only imported for auth providers (exec plugins: exec_credential.py).
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.connection import ConnectionSettings, env_bool
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sConfigError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.kubeconfig import load_kubeconfig, read_kubeconfig
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.proxy import (
    bypass,
    check_proxy,
    check_url,
    environment_proxy,
)

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


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
        config = load_kubeconfig(kubeconfig, context, environ, run_exec=not auth.get("api_key"))
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
            config = load_kubeconfig(None, None, environ, run_exec=not auth.get("api_key"))
        else:
            config = in_cluster_settings(environ)

    if host:
        config.host = host
    if auth.get("api_key"):
        config.token, config.token_file, config.delegate, config.credential = auth["api_key"], None, None, None
    for option, attribute in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"),
                              ("client_key", "key_file")):
        path = auth.get(option)
        if path:
            path = os.path.expanduser(path)
            if not os.path.exists(path):
                raise K8sConfigError("%s: file %s does not exist" % (option, path))
            setattr(config, attribute, path)
    if auth.get("validate_certs") is not None:
        config.verify_ssl = env_bool(auth["validate_certs"])
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
        config.proxy, field = environment_proxy(config.host, environ), "HTTPS_PROXY"
    if config.proxy and auth.get("no_proxy") and bypass(urlsplit(config.host).hostname, auth["no_proxy"]):
        config.proxy = None
    if config.proxy:
        config.proxy = check_proxy(config.proxy, field)
    return config
