"""The port-forward tunnel finds credentials in the modules' (kubectl's) order: KUBECONFIG before in-cluster."""
import argparse
import importlib.util
import os

import pytest
import yaml

TUNNEL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "mysql_cluster", "files", "pod_tunnel.py")


@pytest.fixture
def tunnel(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("pod_tunnel", TUNNEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    token = tmp_path / "token"
    token.write_text("sa")
    monkeypatch.setattr(module, "SERVICE_ACCOUNT_TOKEN", str(token))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return module


def write(path, server, current="c", name="c"):
    data = {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": server}}],
            "users": [{"name": name, "user": {"token": "t"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]}
    if current:
        data["current-context"] = current
    path.write_text(yaml.safe_dump(data))
    return str(path)


def host(api_client):
    return api_client.configuration.host


def args(**kw):
    return argparse.Namespace(**dict({"kubeconfig": "", "context": ""}, **kw))


def test_kubeconfig_env_wins_over_in_cluster(tunnel, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", write(tmp_path / "other", "https://other:6443"))
    assert host(tunnel.load_client(args())) == "https://other:6443"


def test_current_context_from_the_first_file_that_sets_it(tunnel, tmp_path, monkeypatch):
    first = write(tmp_path / "one", "https://one:6443", current="one", name="one")
    second = write(tmp_path / "two", "https://two:6443", current="two", name="two")
    monkeypatch.setenv("KUBECONFIG", first + os.pathsep + second)
    assert host(tunnel.load_client(args())) == "https://one:6443"


def test_in_cluster_only_without_a_kubeconfig(tunnel, monkeypatch):
    calls = []
    import kubernetes.config

    monkeypatch.setattr(kubernetes.config, "load_incluster_config", lambda: calls.append("in-cluster"))
    tunnel.load_client(args())
    assert calls == ["in-cluster"]
