"""Where credentials come from (kubectl's order), impersonation, proxies and TLS settings on every path."""
import pytest
import yaml

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import config as k8s_config
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sClient
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.config import resolve_configuration
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sConfigError


def kubeconfig(path, server="https://127.0.0.1:7443", token="kc-token", **cluster):
    data = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": dict({"server": server}, **cluster)}],
            "users": [{"name": "u", "user": {"token": token}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def in_cluster(tmp_path, monkeypatch):
    """A pod's environment: the kubernetes Service address and a mounted service-account token."""
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token\n")
    (sa / "ca.crt").write_text("CA")
    monkeypatch.setattr(k8s_config, "SERVICE_ACCOUNT_DIR", str(sa))
    return {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "HOME": str(tmp_path)}


# -- order --------------------------------------------------------------------------------------

def test_kubeconfig_env_wins_over_in_cluster_credentials(tmp_path, in_cluster):
    """An AWX job pod that sets KUBECONFIG to manage another cluster talks to that cluster (kubectl does)."""
    env = dict(in_cluster, KUBECONFIG=kubeconfig(tmp_path / "other", server="https://other:6443"))
    settings = resolve_configuration({}, environ=env)
    assert settings.host == "https://other:6443"
    assert settings.auth_settings()["BearerToken"]["value"] == "Bearer kc-token"


def test_home_kubeconfig_wins_over_in_cluster_credentials(tmp_path, in_cluster):
    (tmp_path / ".kube").mkdir()
    kubeconfig(tmp_path / ".kube" / "config", server="https://home:6443")
    assert resolve_configuration({}, environ=in_cluster).host == "https://home:6443"


def test_in_cluster_when_no_kubeconfig_gives_a_context(tmp_path, in_cluster):
    empty = tmp_path / "empty"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    for env in (in_cluster, dict(in_cluster, KUBECONFIG=str(tmp_path / "absent")), dict(in_cluster, KUBECONFIG=str(empty))):
        settings = resolve_configuration({}, environ=env)
        assert settings.host == "https://10.96.0.1:443"
        assert settings.source == "in-cluster service account"


def test_explicit_options_win_over_kubeconfig_env(tmp_path, in_cluster):
    env = dict(in_cluster, KUBECONFIG=kubeconfig(tmp_path / "env", server="https://env:6443"))
    explicit = kubeconfig(tmp_path / "explicit", server="https://explicit:6443", token="explicit")
    assert resolve_configuration({"kubeconfig": explicit}, environ=env).host == "https://explicit:6443"
    settings = resolve_configuration({"host": "https://direct:6443", "api_key": "key"}, environ=env)
    assert (settings.host, settings.token) == ("https://direct:6443", "key")


def test_context_option_reads_the_kubeconfig_env_chain(tmp_path):
    first = kubeconfig(tmp_path / "first", server="https://first:6443")
    second = tmp_path / "second"
    second.write_text(yaml.safe_dump({"contexts": [{"name": "other", "context": {"cluster": "c", "user": "u"}}]}))
    env = {"KUBECONFIG": first + ":" + str(second), "HOME": str(tmp_path)}
    assert resolve_configuration({"context": "other"}, environ=env).host == "https://first:6443"


def test_no_credentials_anywhere(tmp_path):
    with pytest.raises(K8sConfigError, match="no Kubernetes credentials found"):
        resolve_configuration({}, environ={"HOME": str(tmp_path)})


@pytest.mark.parametrize("host", ["127.0.0.1:6443", "kubernetes.local", "ftp://h:1", "https://", "https://h:99999"])
def test_a_malformed_host_is_a_clear_error_at_once(host):
    with pytest.raises(K8sConfigError, match=r"^host: .*(not an API server URL; write it with its scheme|invalid port)"):
        resolve_configuration({"host": host}, environ={})


# -- impersonation --------------------------------------------------------------------------------

def test_impersonation_from_kubeconfig_and_options(tmp_path):
    path = tmp_path / "config"
    data = yaml.safe_load(open(kubeconfig(path)))
    data["users"][0]["user"].update({"as": "jane", "as-groups": ["devs", "ops"], "as-uid": "42"})
    path.write_text(yaml.safe_dump(data))
    settings = resolve_configuration({"kubeconfig": str(path)}, environ={})
    assert settings.impersonation_headers() == [("Impersonate-User", "jane"), ("Impersonate-Group", "devs"),
                                                ("Impersonate-Group", "ops"), ("Impersonate-Uid", "42")]
    settings = resolve_configuration({"kubeconfig": str(path), "impersonate_user": "bob"}, environ={})
    assert settings.impersonation_headers() == [("Impersonate-User", "bob")]  # kubectl --as drops the rest
    settings = resolve_configuration({"kubeconfig": str(path), "impersonate_user": "bob",
                                      "impersonate_groups": ["readers"]}, environ={})
    assert settings.impersonation_headers() == [("Impersonate-User", "bob"), ("Impersonate-Group", "readers")]


def test_groups_without_a_user_is_a_clear_error():
    with pytest.raises(K8sConfigError, match="impersonate_groups: needs impersonate_user"):
        resolve_configuration({"host": "https://h:6443", "impersonate_groups": ["g"]}, environ={})


def test_each_group_is_its_own_header_on_the_wire(api_recorder):
    url, seen = api_recorder
    client = K8sClient.from_auth({"host": url, "impersonate_user": "jane",
                                  "impersonate_groups": ["devs", "ops"]})
    client.request("GET", "/version")
    headers = seen[0][1]
    assert (headers.get_all("Impersonate-Group"), headers.get("Impersonate-User")) == (["devs", "ops"], "jane")


# -- proxies and TLS ----------------------------------------------------------------------------------

def test_https_proxy_from_the_environment_and_no_proxy(tmp_path):
    env = {"HTTPS_PROXY": "http://proxy:3128"}
    assert resolve_configuration({"host": "https://api.example.com:6443"}, environ=env).proxy == "http://proxy:3128"
    for no_proxy in ("example.com", ".example.com", "api.example.com", "*", "10.0.0.0/8,example.com"):
        settings = resolve_configuration({"host": "https://api.example.com:6443"}, environ=dict(env, NO_PROXY=no_proxy))
        assert settings.proxy is None, no_proxy
    settings = resolve_configuration({"host": "https://10.1.2.3:6443"}, environ=dict(env, NO_PROXY="10.0.0.0/8"))
    assert settings.proxy is None
    # Like Go's net/http, loopback is never proxied; an http:// server reads HTTP_PROXY instead.
    assert resolve_configuration({"host": "https://127.0.0.1:6443"}, environ=env).proxy is None
    assert resolve_configuration({"host": "http://api:8080"}, environ=env).proxy is None


def test_no_proxy_option_applies_to_every_proxy(tmp_path):
    path = kubeconfig(tmp_path / "config", server="https://api.internal:6443", **{"proxy-url": "http://p:3128"})
    assert resolve_configuration({"kubeconfig": path}, environ={}).proxy == "http://p:3128"
    assert resolve_configuration({"kubeconfig": path, "no_proxy": "internal"}, environ={}).proxy is None
    assert resolve_configuration({"host": "https://api.internal:6443", "proxy": "http://p:3128",
                                  "no_proxy": "api.internal"}, environ={}).proxy is None


def test_tls_server_name_and_insecure_reach_the_connection_pool_directly_and_through_a_proxy(tmp_path):
    for extra in ({}, {"proxy-url": "http://127.0.0.1:3128"}):
        path = kubeconfig(tmp_path / "config", **dict({"tls-server-name": "kube.internal",
                                                       "insecure-skip-tls-verify": False}, **extra))
        client = K8sClient.from_auth({"kubeconfig": path})
        assert client.pool.connection_pool_kw["server_hostname"] == "kube.internal"
        assert client.pool.connection_pool_kw["cert_reqs"] != 0
    path = kubeconfig(tmp_path / "config", **{"insecure-skip-tls-verify": True})
    assert K8sClient.from_auth({"kubeconfig": path}).pool.connection_pool_kw["cert_reqs"] == 0  # CERT_NONE


def test_tls_server_name_is_kept_when_host_overrides_the_server(tmp_path):
    path = kubeconfig(tmp_path / "config", **{"tls-server-name": "kube.internal"})
    settings = resolve_configuration({"kubeconfig": path, "host": "https://10.0.0.9:6443"}, environ={})
    assert (settings.host, settings.tls_server_name) == ("https://10.0.0.9:6443", "kube.internal")
