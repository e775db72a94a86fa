"""statefulset main(): argument checks, check mode, diff, immutable fields, scale-in and absent (fake API)."""
from ansible_collections.statefuldb.k8s.plugins.modules import statefulset
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError
from k8s_fakes import FakeCluster, claim

ARGS = {"name": "db", "namespace": "ns", "image": "mariadb:11.4", "replicas": 2, "wait": False,
        "volume_claim_templates": [{"name": "data", "size": "1Gi", "mount_path": "/var/lib/mysql"}]}


def live(cluster):
    return cluster.objects.get(("StatefulSet", "ns", "db"))


def test_create_then_idempotent(run_module):
    cluster = FakeCluster()
    first = run_module(statefulset, ARGS, cluster, diff=True)
    assert first["changed"] is True and live(cluster)["spec"]["replicas"] == 2
    assert first["diff"]["after"]["spec"]["replicas"] == 2
    again = run_module(statefulset, ARGS, cluster, diff=True)
    assert again["changed"] is False and again["recreated"] is False


def test_check_mode_creates_nothing(run_module):
    cluster = FakeCluster()
    result = run_module(statefulset, ARGS, cluster, check_mode=True)
    assert result["changed"] is True and live(cluster) is None


def test_replicas_alone_scale_with_the_scale_manager_and_keep_the_claims(run_module):
    cluster = FakeCluster([claim("data-db-0", {"app": "db"}), claim("data-db-1", {"app": "db"})])
    run_module(statefulset, ARGS, cluster)
    result = run_module(statefulset, {"name": "db", "namespace": "ns", "replicas": 1, "wait": False}, cluster)
    assert result["changed"] is True and live(cluster)["spec"]["replicas"] == 1
    assert result["pvcs_kept"] == ["data-db-1"] and result["pvcs_deleted"] == []
    assert [kwargs["field_manager"] for name, _a, kwargs in cluster.calls if name == "patch"][-1] == "statefuldb-scale"


class NoPartialCreate(FakeCluster):
    """The API server refuses to create a StatefulSet from replicas alone (422: spec.selector required)."""

    def patch(self, api_version, kind, name, namespace, body, **kwargs):
        if (kind, namespace, name) not in self.objects and set(body.get("spec") or {}) == {"replicas"}:
            raise K8sApiError("spec.selector: Required value", status=422, reason="Invalid")
        return super().patch(api_version, kind, name, namespace, body, **kwargs)


def test_replicas_alone_cannot_create(run_module):
    result = run_module(statefulset, {"name": "db", "namespace": "ns", "replicas": 1, "wait": False}, NoPartialCreate())
    assert result["failed"] and "does not exist" in result["msg"]


def test_delete_pvcs_needs_state_absent(run_module):
    cluster = FakeCluster()
    result = run_module(statefulset, dict(ARGS, delete_pvcs=True), cluster)
    assert result["failed"] and result["msg"] == "delete_pvcs only applies to state: absent" and cluster.calls == []


def test_wait_timeout_must_be_positive(run_module):
    cluster = FakeCluster()
    result = run_module(statefulset, dict(ARGS, wait_timeout=0), cluster)
    assert result["failed"] and "wait_timeout" in result["msg"] and cluster.calls == []


def test_a_bad_name_fails_before_any_request(run_module):
    cluster = FakeCluster()
    result = run_module(statefulset, {"name": "DB", "namespace": "ns", "state": "absent"}, cluster)
    assert result["failed"] and "name" in result["msg"] and cluster.calls == []


def test_a_selector_change_fails_naming_the_field_unless_recreate(run_module):
    cluster = FakeCluster()
    definition = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "ns"},
                  "spec": {"selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
                           "template": {"metadata": {"labels": {"app": "db", "v": "1"}},
                                        "spec": {"containers": [{"name": "db", "image": "mariadb:11.4"}]}}}}
    run_module(statefulset, {"definition": definition, "wait": False}, cluster)
    changed = dict(definition, spec=dict(definition["spec"], selector={"matchLabels": {"app": "db", "v": "1"}}))
    refused = run_module(statefulset, {"definition": changed, "wait": False}, cluster)
    assert refused["failed"] and "recreate" in refused["msg"]
    assert live(cluster)["spec"]["selector"] == {"matchLabels": {"app": "db"}}
    checked = run_module(statefulset, {"definition": changed, "wait": False, "recreate": "orphan"}, cluster,
                         check_mode=True)
    assert checked["changed"] is True and checked["recreated"] is True
    assert live(cluster)["spec"]["selector"] == {"matchLabels": {"app": "db"}}


def test_absent_check_mode_then_absent_keeps_the_claims(run_module):
    cluster = FakeCluster([claim("data-db-0", {"app": "db"})])
    run_module(statefulset, dict(ARGS, replicas=1), cluster)
    checked = run_module(statefulset, {"name": "db", "namespace": "ns", "state": "absent", "wait": False}, cluster,
                         check_mode=True, diff=True)
    assert checked["changed"] is True and live(cluster) is not None and checked["diff"]["after"] == {}
    gone = run_module(statefulset, {"name": "db", "namespace": "ns", "state": "absent", "wait": False}, cluster)
    assert gone["changed"] is True and live(cluster) is None and gone["pvcs_kept"] == ["data-db-0"]
    again = run_module(statefulset, {"name": "db", "namespace": "ns", "state": "absent", "wait": False}, cluster)
    assert again["changed"] is False and again["pvcs_kept"] == ["data-db-0"]


def test_result_holds_the_statefulset_as_kubernetes_core_returns_it(run_module):
    cluster = FakeCluster()
    result = run_module(statefulset, ARGS, cluster)
    assert result["result"] == result["statefulset"] and result["result"]["spec"]["replicas"] == 2
    checked = run_module(statefulset, dict(ARGS, replicas=3), cluster, check_mode=True)
    assert checked["result"] == checked["statefulset"]
