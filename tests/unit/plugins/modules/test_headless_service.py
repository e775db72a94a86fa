"""headless_service main(): argument handling, check mode, diff, idempotence and failures over a fake API."""
from ansible_collections.statefuldb.k8s.plugins.modules import headless_service
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError
from k8s_fakes import FakeCluster

ARGS = {"name": "db", "namespace": "ns", "selector": {"app": "db"}, "ports": [3306]}


def service(cluster):
    return cluster.objects.get(("Service", "ns", "db"))


def test_create_then_idempotent(run_module):
    cluster = FakeCluster()
    first = run_module(headless_service, ARGS, cluster)
    assert first["changed"] is True
    assert service(cluster)["spec"]["clusterIP"] == "None"
    assert service(cluster)["spec"]["ports"] == [{"port": 3306, "protocol": "TCP"}]
    again = run_module(headless_service, ARGS, cluster)
    assert again["changed"] is False and "diff" not in again


def test_check_mode_writes_nothing_and_reports_the_change(run_module):
    cluster = FakeCluster()
    result = run_module(headless_service, ARGS, cluster, check_mode=True, diff=True)
    assert result["changed"] is True and service(cluster) is None
    assert all(kwargs.get("dry_run") for name, _a, kwargs in cluster.calls if name == "patch")
    assert result["diff"]["after"]["spec"]["clusterIP"] == "None"


def test_absent_deletes_once_and_check_mode_keeps_it(run_module):
    cluster = FakeCluster()
    run_module(headless_service, ARGS, cluster)
    checked = run_module(headless_service, dict(ARGS, state="absent"), cluster, check_mode=True, diff=True)
    assert checked["changed"] is True and service(cluster) is not None
    assert checked["diff"]["after"] == {}
    assert run_module(headless_service, dict(ARGS, state="absent"), cluster)["changed"] is True
    assert service(cluster) is None
    assert run_module(headless_service, dict(ARGS, state="absent"), cluster)["changed"] is False


def test_pods_and_dns_names_come_from_the_endpoint_slices(run_module):
    cluster = FakeCluster([{
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "db-abc", "namespace": "ns", "labels": {"kubernetes.io/service-name": "db"}},
        "endpoints": [{"addresses": ["10.0.0.5"], "hostname": "db-0", "conditions": {"ready": True},
                       "targetRef": {"kind": "Pod", "name": "db-0"}}]}])
    result = run_module(headless_service, ARGS, cluster)
    assert result["dns_names"] == ["db-0.db.ns.svc.cluster.local"]


def test_a_missing_selector_fails_before_any_request(run_module):
    cluster = FakeCluster()
    result = run_module(headless_service, {"name": "db", "namespace": "ns"}, cluster)
    assert result["failed"] and "selector is required" in result["msg"]
    assert cluster.calls == []


def test_a_bad_name_for_absent_fails_naming_the_field(run_module):
    cluster = FakeCluster()
    result = run_module(headless_service, {"name": "Not_A_Name", "namespace": "ns", "state": "absent"}, cluster)
    assert result["failed"] and "name" in result["msg"] and cluster.calls == []


class Refusing(FakeCluster):
    def patch(self, *args, **kwargs):
        raise K8sApiError("services \"db\" is forbidden: User cannot patch", status=403, reason="Forbidden")


def test_an_api_refusal_fails_with_its_message_and_status(run_module):
    result = run_module(headless_service, ARGS, Refusing())
    assert result["failed"] and "forbidden" in result["msg"] and result["status"] == 403
    assert "exception" not in result


def test_result_holds_the_service_as_kubernetes_core_returns_it(run_module):
    cluster = FakeCluster()
    created = run_module(headless_service, ARGS, cluster)
    assert created["result"] == created["service"] and created["result"]["spec"]["clusterIP"] == "None"
    gone = run_module(headless_service, dict(ARGS, state="absent"), cluster)
    assert gone["result"] == gone["service"] == {}
