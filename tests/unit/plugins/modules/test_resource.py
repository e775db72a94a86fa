"""resource main(): multi-document definitions, check mode, diff, absent and failures over a fake API."""
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
