"""Unit tests of tools/survives.py (the `survives` gate) against an in-memory CoreV1Api: it passes only
when what existed before the suite is still there."""
import re

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

survives = load_script("tools", "survives")


class FakeCore:
    """The CoreV1Api calls survives.py makes, over dicts of namespaces and ConfigMaps."""

    def __init__(self, namespaces=("default", "kube-system")):
        self.namespaces = {n: client.V1Namespace(metadata=client.V1ObjectMeta(name=n),
                                                 status=client.V1NamespaceStatus(phase="Active"))
                           for n in namespaces}
        self.configmaps = {}

    def _missing(self):
        raise ApiException(status=404, reason="Not Found")

    def list_namespace(self, _request_timeout=None):
        return client.V1NamespaceList(items=list(self.namespaces.values()))

    def read_namespace(self, name, _request_timeout=None):
        return self.namespaces.get(name) or self._missing()

    def create_namespace(self, body, _request_timeout=None):
        body.status = client.V1NamespaceStatus(phase="Active")
        self.namespaces[body.metadata.name] = body

    def delete_namespace(self, name):
        del self.namespaces[name]
        self.configmaps = {k: v for k, v in self.configmaps.items() if k[0] != name}

    def read_namespaced_config_map(self, name, namespace, _request_timeout=None):
        return self.configmaps.get((namespace, name)) or self._missing()

    def create_namespaced_config_map(self, namespace, body, _request_timeout=None):
        if namespace not in self.namespaces:
            self._missing()
        self.configmaps[(namespace, body.metadata.name)] = body

    def replace_namespaced_config_map(self, name, namespace, body, _request_timeout=None):
        self.configmaps[(namespace, name)] = body


@pytest.fixture
def recorded(tmp_path):
    core = FakeCore(("default", "kube-system", "demo-mariadb", "orders"))
    state = str(tmp_path / "survives.json")
    survives.record(core, state)
    return core, state


def test_what_ran_before_the_suite_survived(recorded):
    core, state = recorded
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="t-made-by-a-test")))
    survives.check(core, state)


@pytest.mark.parametrize("gone,fragment", [
    ("statefuldb-keep", "ConfigMap statefuldb-keep/keep (or its namespace) is gone"),
    ("demo-mariadb", "namespaces that existed before the suite are gone: demo-mariadb"),
])
def test_a_namespace_gone_fails_the_gate(recorded, gone, fragment):
    core, state = recorded
    core.delete_namespace(gone)
    with pytest.raises(survives.Failed, match=re.escape(fragment)):
        survives.check(core, state)


def test_a_new_token_fails_the_gate(recorded):
    core, state = recorded
    core.configmaps[("statefuldb-keep", "keep")].data = {"token": "another run's"}
    with pytest.raises(survives.Failed, match="no longer holds the token"):
        survives.check(core, state)


def test_the_suites_own_fixed_namespaces_may_go(recorded):
    core, state = recorded
    core.delete_namespace("orders")
    survives.check(core, state)


def test_no_record_fails_the_gate(tmp_path):
    with pytest.raises(survives.Failed, match="no record from before the suite"):
        survives.check(FakeCore(), str(tmp_path / "absent.json"))


def test_the_command_fails_cleanly_when_no_cluster_answers(tmp_path, capsys):
    assert survives.main(["check", str(tmp_path / "s.json"), "--kubeconfig", str(tmp_path / "none")]) == 1
    assert "no kubeconfig at" in capsys.readouterr().err
