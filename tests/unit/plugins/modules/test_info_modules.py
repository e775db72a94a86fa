"""resource_info and statefulset_info main(): read-only, never changed, clear failures (fake API)."""
from ansible_collections.statefuldb.k8s.plugins.modules import resource_info, statefulset_info
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError
from k8s_fakes import FakeCluster, statefulset

CM = {"apiVersion": "v1", "kind": "ConfigMap",
      "metadata": {"name": "cfg", "namespace": "ns", "labels": {"app": "db"},
                   "managedFields": [{"manager": "statefuldb"}]}}


def test_resource_info_gets_one_without_managed_fields(run_module):
    result = run_module(resource_info, {"kind": "ConfigMap", "name": "cfg", "namespace": "ns"}, FakeCluster([CM]))
    assert result["changed"] is False
    assert [r["metadata"]["name"] for r in result["resources"]] == ["cfg"]
    assert "managedFields" not in result["resources"][0]["metadata"]


def test_resource_info_lists_by_label_and_finds_nothing_quietly(run_module):
    cluster = FakeCluster([CM])
    found = run_module(resource_info, {"kind": "ConfigMap", "namespace": "ns", "label_selectors": ["app=db"]}, cluster)
    assert [r["metadata"]["name"] for r in found["resources"]] == ["cfg"]
    assert cluster.calls[-1][2]["label_selector"] == "app=db"
    none = run_module(resource_info, {"kind": "ConfigMap", "name": "other", "namespace": "ns"}, cluster)
    assert none["resources"] == [] and none["changed"] is False


def test_resource_info_refuses_a_bad_namespace_before_any_request(run_module):
    cluster = FakeCluster()
    result = run_module(resource_info, {"kind": "ConfigMap", "namespace": "Bad_NS"}, cluster)
    assert result["failed"] and "namespace" in result["msg"] and cluster.calls == []


class Unauthorized(FakeCluster):
    def get(self, *args, **kwargs):
        raise K8sApiError("Unauthorized: the token was refused", status=401, reason="Unauthorized")


def test_resource_info_reports_an_api_failure_without_a_traceback(run_module):
    result = run_module(resource_info, {"kind": "ConfigMap", "name": "cfg", "namespace": "ns"}, Unauthorized())
    assert result["failed"] and result["status"] == 401 and "exception" not in result


def test_statefulset_info_refuses_a_bad_name_before_any_request(run_module):
    cluster = FakeCluster()
    result = run_module(statefulset_info, {"name": "db_0", "namespace": "ns"}, cluster)
    assert result["failed"] and "name" in result["msg"] and cluster.calls == []


def test_statefulset_info_names_a_missing_statefulset(run_module):
    result = run_module(statefulset_info, {"name": "db", "namespace": "ns"}, FakeCluster())
    assert result["failed"] and "db" in result["msg"]


def test_statefulset_info_describes_pods_and_claims(run_module):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "ns"},
           "spec": {"clusterIP": "None", "selector": {"app": "db"}}}
    sts = statefulset("db", replicas=1, templates=[{"metadata": {"name": "data"}}])
    result = run_module(statefulset_info, {"name": "db", "namespace": "ns"}, FakeCluster([svc, sts]))
    assert result["changed"] is False and result["service_name"] == "db" and result["replicas"] == 1


def _pod(name, labels):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "labels": dict({"app": "db"}, **labels)},
            "status": {"phase": "Running", "podIP": "10.0.0.%s" % name[-1],
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def test_statefulset_info_names_the_recorded_primary_not_ordinal_0(run_module):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "ns"},
           "spec": {"clusterIP": "None", "selector": {"app": "db"}}}
    labels = {"db-0": "replica", "db-1": "replica", "db-2": "primary"}
    pods = [_pod(n, {"statefuldb.io/role": role}) for n, role in labels.items()]
    result = run_module(statefulset_info, {"name": "db", "namespace": "ns"},
                        FakeCluster([svc, statefulset("db", replicas=3)] + pods))
    assert result["primary"]["name"] == "db-2"
    assert [p["name"] for p in result["pods"] if p["primary"]] == ["db-2"]
    unlabelled = run_module(statefulset_info, {"name": "db", "namespace": "ns"},
                            FakeCluster([svc, statefulset("db", replicas=3)] + [_pod(n, {}) for n in labels]))
    assert unlabelled["primary"]["name"] == "db-0", "without a record the first ordinal is the primary"
