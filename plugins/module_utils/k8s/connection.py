# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection settings (where and how to connect) and the urllib3 pool built from them: TLS, client certificate, proxy."""
from __future__ import annotations

import ssl

try:
    import urllib3
except ImportError:  # pragma: no cover - client.missing_libraries reports it
    urllib3 = None


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
        self.delegate = None  # a kubernetes Configuration that refreshes its own credentials (auth-provider)
        self.credential = None  # an exec_credential.ExecCredential: token() runs the plugin again once expired

    def auth_settings(self):
        if self.delegate is not None:
            return self.delegate.auth_settings()
        token = self.token
        if self.credential is not None:
            token = self.credential.token()
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


def env_bool(value):
    if isinstance(value, bool) or value is None:
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


def make_pool(config):
    """The one urllib3 pool of a client: TLS verification, client certificate, SNI name and proxy."""
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
        from urllib3.contrib.socks import SOCKSProxyManager  # proxy.check_proxy made sure PySocks is there

        return SOCKSProxyManager(proxy, **pool_args)
    if proxy:
        return urllib3.ProxyManager(proxy, proxy_headers=getattr(config, "proxy_headers", None), **pool_args)
    return urllib3.PoolManager(**pool_args)
