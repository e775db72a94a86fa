# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The way to the API server: its URL checked, and the proxy kubectl would take (option, kubeconfig, environment)."""
from __future__ import annotations

import importlib.util
import ipaddress
from urllib.parse import urlsplit

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sConfigError

# What urllib3 can speak to; socks5 needs PySocks (kubectl speaks socks5 with remote DNS = socks5h).
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def bypass(host, no_proxy):
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


def environment_proxy(url, environ):
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
    if proxy and bypass(host, environ.get("NO_PROXY") or environ.get("no_proxy")):
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
