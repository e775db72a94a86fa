"""resource main(): multi-document definitions, check mode, diff, absent and failures over a fake API."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.modules import resource
from k8s_fakes import FakeCluster

CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "ns"},
          "data": {"a": "1"}}
CLUSTER_SCOPED = ("Namespace", "StorageClass")


class Cluster(FakeCluster):
    def plural(self, api_version, kind):
        return kind.lower() + "s", kind not in CLUSTER_SCOPED


def test_apply_is_exact_about_changed(run_module):
    cluster = Cluster()
    assert run_module(resource, {"definition": CONFIG}, cluster)["changed"] is True
    again = run_module(resource, {"definition": CONFIG}, cluster)
    assert again["changed"] is False and again["result"]["data"] == {"a": "1"}


def test_check_mode_and_diff_of_two_documents(run_module):
    cluster = Cluster()
    other = dict(CONFIG, metadata={"name": "cfg2", "namespace": "ns"})
    result = run_module(resource, {"definition": [CONFIG, other]}, cluster, check_mode=True, diff=True)
    assert result["changed"] is True and cluster.objects == {}
    assert [r["changed"] for r in result["results"]] == [True, True]
    assert len(result["diff"]["after"]) == 2


def test_namespace_option_fills_in_and_cluster_scoped_kinds_drop_it(run_module):
    cluster = Cluster()
    namespaced = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}}
    scoped = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    run_module(resource, {"definition": [namespaced, scoped], "namespace": "ns"}, cluster)
    assert ("ConfigMap", "ns", "cfg") in cluster.objects and ("Namespace", None, "team") in cluster.objects


def test_absent_check_mode_keeps_the_object(run_module):
    cluster = Cluster([CONFIG])
    checked = run_module(resource, {"definition": CONFIG, "state": "absent"}, cluster, check_mode=True, diff=True)
    assert checked["changed"] is True and ("ConfigMap", "ns", "cfg") in cluster.objects
    assert checked["diff"]["after"] == {}
    assert run_module(resource, {"definition": CONFIG, "state": "absent"}, cluster)["changed"] is True
    assert cluster.objects == {}
    assert run_module(resource, {"definition": CONFIG, "state": "absent"}, cluster)["changed"] is False


def test_an_empty_definition_fails_before_any_request(run_module):
    cluster = Cluster()
    result = run_module(resource, {"definition": ""}, cluster)
    assert result["failed"] and "definition holds no objects" in result["msg"] and cluster.calls == []


def test_a_namespaced_object_without_namespace_fails_naming_it(run_module):
    cluster = Cluster()
    result = run_module(resource, {"definition": {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "cfg"}}}, cluster)
    assert result["failed"] and "namespace" in result["msg"]
    assert not [c for c in cluster.calls if c[0] == "patch"]


# Deletion by reference (kubernetes.core.k8s: state=absent with api_version, kind, name, namespace).
BY_NAME = {"state": "absent", "api_version": "v1", "kind": "ConfigMap", "name": "cfg", "namespace": "ns"}


def test_absent_by_reference_is_exact_in_check_mode_and_for_real(run_module):
    cluster = Cluster([CONFIG])
    checked = run_module(resource, BY_NAME, cluster, check_mode=True, diff=True)
    assert checked["changed"] is True and ("ConfigMap", "ns", "cfg") in cluster.objects
    assert checked["diff"]["before"]["data"] == {"a": "1"} and checked["diff"]["after"] == {}
    assert not [c for c in cluster.calls if c[0] == "delete"]
    deleted = run_module(resource, BY_NAME, cluster)
    assert deleted["changed"] is True and deleted["result"] == {} and cluster.objects == {}
    assert run_module(resource, BY_NAME, cluster, check_mode=True)["changed"] is False
    assert run_module(resource, BY_NAME, cluster)["changed"] is False


def test_absent_by_reference_defaults_to_v1_and_drops_namespace_of_cluster_scoped_kinds(run_module):
    cluster = Cluster([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}])
    result = run_module(resource, {"state": "absent", "kind": "Namespace", "name": "team", "namespace": "ns"}, cluster)
    assert result["changed"] is True and cluster.objects == {}
    assert [c[1] for c in cluster.calls if c[0] == "delete"] == [("v1", "Namespace", "team", None)]


@pytest.mark.parametrize("args, words", [
    ({"state": "absent", "name": "cfg", "namespace": "ns"}, ["kind is required", "give kind"]),
    ({"state": "absent", "kind": "ConfigMap", "namespace": "ns"}, ["name is required", "give name"]),
    ({"kind": "ConfigMap", "name": "cfg", "namespace": "ns"}, ["definition is required with state=present"]),
    ({"state": "absent", "definition": CONFIG, "kind": "ConfigMap"}, ["kind cannot be given with definition"]),
    ({"state": "absent", "api_version": "apps/v1/x", "kind": "StatefulSet", "name": "db", "namespace": "ns"},
     ["api_version", "is not an apiVersion"]),
    ({"state": "absent", "kind": "configmap", "name": "cfg", "namespace": "ns"}, ["kind", "is not a kind"]),
    ({"state": "absent", "kind": "ConfigMap", "name": "Cfg_1", "namespace": "ns"}, ["name", "DNS-1123"]),
    ({"state": "absent"}, ["kind is required"]),
])
def test_absent_by_reference_fails_naming_the_option_before_any_request(run_module, args, words):
    cluster = Cluster([CONFIG])
    result = run_module(resource, args, cluster)
    assert result["failed"] and all(word in result["msg"] for word in words), result["msg"]
    assert cluster.calls == [] and ("ConfigMap", "ns", "cfg") in cluster.objects


def test_absent_by_reference_of_a_namespaced_kind_needs_namespace(run_module):
    cluster = Cluster([CONFIG])
    result = run_module(resource, {"state": "absent", "kind": "ConfigMap", "name": "cfg"}, cluster)
    assert result["failed"] and "namespace is required to delete ConfigMap 'cfg'" in result["msg"]
    assert not [c for c in cluster.calls if c[0] in ("delete", "get")]


def test_force_conflicts_is_force(run_module):
    """kubernetes.core's server_side_apply.force_conflicts: take over fields another manager owns."""
    cluster = Cluster()
    run_module(resource, {"definition": CONFIG, "field_manager": "someone-else"}, cluster)
    changed = dict(CONFIG, data={"a": "2"})
    refused = run_module(resource, {"definition": changed}, cluster)
    assert refused["failed"] and "someone-else" in refused["msg"]
    assert cluster.objects[("ConfigMap", "ns", "cfg")]["data"] == {"a": "1"}
    taken = run_module(resource, {"definition": changed, "force_conflicts": True}, cluster)
    assert taken["changed"] is True and cluster.objects[("ConfigMap", "ns", "cfg")]["data"] == {"a": "2"}
    assert [c[2]["force"] for c in cluster.calls if c[0] == "patch"][-1] is True
