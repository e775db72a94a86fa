"""The collection reads kubeconfigs as kubectl does: one table of fixtures, run through kubectl and through config.py.

For each case kubectl's own view (``kubectl config view --minify --flatten -o json`` with the same
KUBECONFIG and --context) and resolve_configuration must give the same server, identity
(token, basic auth, client certificate and key, impersonation) and TLS settings (CA, insecure,
tls-server-name, proxy). Each case also states the expected server and user, so the loader is held
to the table even where no kubectl binary is installed (then the kubectl half is skipped).
"""
import base64
import glob
import importlib.util
import json
import os
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.config import resolve_configuration
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sConfigError


def kubectl_binary():
    built = sorted(glob.glob(os.path.expanduser("~/.cache/statefuldb-localkube/*/bin/kubectl")))
    return built[-1] if built else shutil.which("kubectl")


def cfg(current=None, clusters=(), users=(), contexts=()):
    data = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": n, "cluster": c} for n, c in clusters],
            "users": [{"name": n, "user": u} for n, u in users],
            "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, c, u in contexts]}
    if current:
        data["current-context"] = current
    return data


def b64(text):
    return base64.b64encode(text.encode()).decode()


# name -> (files {relative path: kubeconfig dict or text}, KUBECONFIG entries, context, expected server, user token)
CASES = {
    "one file, token, CA relative to the file, tls-server-name": (
        {"a/config": cfg("dev", [("c", {"server": "https://10.0.0.1:6443", "certificate-authority": "ca.crt",
                                        "tls-server-name": "kube.internal"})],
                         [("u", {"token": "tok-a"})], [("dev", "c", "u")]),
         "a/ca.crt": "CA-A"},
        ["a/config"], None, "https://10.0.0.1:6443", "tok-a"),
    "first file to define a name wins": (
        {"one": cfg("dev", [("c", {"server": "https://first:6443", "insecure-skip-tls-verify": True})],
                    [("u", {"token": "first"})], [("dev", "c", "u")]),
         "two": cfg("dev", [("c", {"server": "https://second:6443"})], [("u", {"token": "second"})],
                    [("dev", "c", "u")])},
        ["one", "two"], None, "https://first:6443", "first"),
    "current-context from the first file that sets it": (
        {"one": cfg(None, [("c1", {"server": "https://one:6443"})], [("u1", {"token": "one"})],
                    [("ctx1", "c1", "u1")]),
         "two": cfg("ctx2", [("c2", {"server": "https://two:6443"})], [("u2", {"token": "two"})],
                    [("ctx2", "c2", "u2")]),
         "three": cfg("ctx1")},
        ["one", "two", "three"], None, "https://two:6443", "two"),
    "a later file's current-context does not override": (
        {"one": cfg("ctx1", [("c1", {"server": "https://one:6443"})], [("u1", {"token": "one"})],
                    [("ctx1", "c1", "u1")]),
         "two": cfg("ctx2", [("c2", {"server": "https://two:6443"})], [("u2", {"token": "two"})],
                    [("ctx2", "c2", "u2")])},
        ["one", "two"], None, "https://one:6443", "one"),
    "context chosen from the second file, pieces from both": (
        {"one": cfg("ctx1", [("c1", {"server": "https://one:6443"})], [("u1", {"token": "one"})],
                    [("ctx1", "c1", "u1")]),
         "b/two": cfg(None, [("c2", {"server": "https://two:6443", "certificate-authority": "ca.pem"})], [],
                      [("ctx2", "c2", "u1")]),
         "b/ca.pem": "CA-B"},
        ["one", "b/two"], "ctx2", "https://two:6443", "one"),
    "client certificate and key relative to their own file": (
        {"x/config": cfg("c", [("c", {"server": "https://10.0.0.2:6443", "certificate-authority-data": b64("CA-X")})],
                         [("u", {"client-certificate": "certs/u.crt", "client-key": "certs/u.key"})],
                         [("c", "c", "u")]),
         "x/certs/u.crt": "CERT-X", "x/certs/u.key": "KEY-X"},
        ["x/config"], None, "https://10.0.0.2:6443", None),
    "inline client certificate and key": (
        {"config": cfg("c", [("c", {"server": "https://10.0.0.3:6443"})],
                       [("u", {"client-certificate-data": b64("CERT-I"), "client-key-data": b64("KEY-I")})],
                       [("c", "c", "u")])},
        ["config"], None, "https://10.0.0.3:6443", None),
    "impersonation and an http proxy": (
        {"config": cfg("c", [("c", {"server": "https://10.0.0.4:6443", "proxy-url": "http://127.0.0.1:3128"})],
                       [("u", {"token": "admin", "as": "jane", "as-groups": ["devs", "ops"]})],
                       [("c", "c", "u")])},
        ["config"], None, "https://10.0.0.4:6443", "admin"),
    "basic auth": (
        {"config": cfg("c", [("c", {"server": "https://10.0.0.5:6443"})],
                       [("u", {"username": "bob", "password": "pw"})], [("c", "c", "u")])},
        ["config"], None, "https://10.0.0.5:6443", None),
    "missing files and empty entries in KUBECONFIG are skipped": (
        {"real": cfg("c", [("c", {"server": "https://10.0.0.6:6443"})], [("u", {"token": "t6"})],
                     [("c", "c", "u")])},
        ["", "absent", "real", "", "real"], None, "https://10.0.0.6:6443", "t6"),
}


def write_case(tmp_path, files):
    for rel, content in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))


def content(path_or_none):
    if not path_or_none:
        return None
    with open(path_or_none, "rb") as f:
        return f.read()


def ours(tmp_path, entries, context):
    env = {"KUBECONFIG": os.pathsep.join(str(tmp_path / e) if e else "" for e in entries),
           "HOME": str(tmp_path)}
    settings = resolve_configuration({"context": context}, environ=env)
    ca = settings.ca_cert_data.encode() if settings.ca_cert_data else content(settings.ssl_ca_cert)
    return {"server": settings.host, "ca": ca, "insecure": not settings.verify_ssl,
            "tls-server-name": settings.tls_server_name, "proxy": settings.proxy, "token": settings.token,
            "client-certificate": content(settings.cert_file), "client-key": content(settings.key_file),
            "username": settings.username, "password": settings.password,
            "as": settings.impersonate_user, "as-groups": settings.impersonate_groups or None}


def kubectls(binary, tmp_path, entries, context):
    env = {"KUBECONFIG": os.pathsep.join(str(tmp_path / e) if e else "" for e in entries),
           "HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    command = [binary, "config", "view", "--minify", "--flatten", "-o", "json"]
    if context:
        command += ["--context", context]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    view = json.loads(proc.stdout)
    cluster, user = view["clusters"][0]["cluster"], view["users"][0]["user"]

    def decoded(key):
        return base64.b64decode(user[key]) if key in user else None

    return {"server": cluster["server"],
            "ca": base64.b64decode(cluster["certificate-authority-data"]) if "certificate-authority-data" in cluster
            else None,
            "insecure": bool(cluster.get("insecure-skip-tls-verify")), "tls-server-name": cluster.get("tls-server-name"),
            "proxy": cluster.get("proxy-url"), "token": user.get("token"),
            "client-certificate": decoded("client-certificate-data"), "client-key": decoded("client-key-data"),
            "username": user.get("username"), "password": user.get("password"),
            "as": user.get("as"), "as-groups": user.get("as-groups")}


@pytest.mark.parametrize("name", list(CASES))
def test_same_server_identity_and_tls_as_kubectl(name, tmp_path):
    files, entries, context, server, token = CASES[name]
    write_case(tmp_path, files)
    got = ours(tmp_path, entries, context)
    assert (got["server"], got["token"]) == (server, token)
    binary = kubectl_binary()
    if not binary:
        pytest.fail("no kubectl binary to compare with: `make cluster` builds one into ~/.cache/statefuldb-localkube")
    assert got == kubectls(binary, tmp_path, entries, context)


def test_socks5_proxy_needs_pysocks_and_says_so(tmp_path):
    cluster = {"server": "https://10.0.0.7:6443", "proxy-url": "socks5://127.0.0.1:1080"}
    write_case(tmp_path, {"config": cfg("c", [("c", cluster)], [("u", {"token": "t"})], [("c", "c", "u")])})
    env = {"KUBECONFIG": str(tmp_path / "config")}
    if importlib.util.find_spec("socks") is None:
        needs_pysocks = r"kubeconfig proxy-url: socks5://127.0.0.1:1080 is a SOCKS proxy, which needs the PySocks"
        with pytest.raises(K8sConfigError, match=needs_pysocks):
            resolve_configuration({}, environ=env)
    else:  # kubectl lets the proxy resolve the API server's name: socks5h in urllib3's terms
        assert resolve_configuration({}, environ=env).proxy == "socks5h://127.0.0.1:1080"


@pytest.mark.parametrize("proxy", ["ftp://proxy:21", "socks4://127.0.0.1:1080"])
def test_unsupported_proxy_scheme_is_a_clear_error(proxy):
    with pytest.raises(K8sConfigError, match=r"proxy: %s uses the \w+ scheme; supported are http, https and socks5"
                                             % proxy):
        resolve_configuration({"host": "https://10.0.0.1:6443", "proxy": proxy}, environ={})
