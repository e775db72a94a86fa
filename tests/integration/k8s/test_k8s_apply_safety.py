"""Issue 11 against the real API server: force, changed behind a Date-skewing proxy, the selector, claims.

The proxy is tools/faultproxy.py on loopback: it forwards every request to the API server (with the
kubeconfig's credentials) and rewrites the response's Date header, as nginx in front of an API
server with a skewed clock would.
"""

import pytest
from k8s_helpers import only_result, sts_task

from statefuldb_dev.scripts import tool

_faultproxy = tool("faultproxy")
FaultProxy, Rule, Schedule = _faultproxy.FaultProxy, _faultproxy.Rule, _faultproxy.Schedule


def date_skewing_proxy(kubeconfig, skew):
    """tools/faultproxy.py forwarding every request and moving every answer's Date header by ``skew`` s."""
    return FaultProxy(kubeconfig, Schedule([Rule("date", every=1, skew=skew)])).start()


def with_options(base, **changes):
    """A copy of the task options ``base`` with ``changes`` applied."""
    options = dict(base)
    options.update(changes)
    return options


def cm_task(namespace, value):
    return {"name": "configmap", "register": "out", "statefuldb.k8s.resource": {
        "namespace": namespace,
        "definition": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "skew"}, "data": {"a": value}}}}


@pytest.mark.parametrize("skew", [10, -10])
def test_every_change_applied_behind_a_proxy_with_a_skewed_date(playbook, namespace, core, kubeconfig, tmp_path,
                                                                skew):
    proxy = date_skewing_proxy(kubeconfig, skew)
    try:
        config = proxy.write_kubeconfig(str(tmp_path / "proxy-kubeconfig"))
        steps = [("1", True), ("2", True), ("2", False), ("3", True), ("3", False), ("1", True)]
        for value, expected in steps:
            result = only_result(playbook([cm_task(namespace, value)], kubeconfig=config))
            assert result.get("failed") is not True, result.get("msg")
            assert result["changed"] is expected, (value, result)
            live = core.read_namespaced_config_map("skew", namespace).data
            assert live == {"a": value}, "the change to %s was not applied (Date skewed %+d s)" % (value, skew)
            assert result["api_requests"] == 2
        sts = sts_task(namespace, image="registry.example/mariadb:11.4", replicas=1, wait=False)
        assert only_result(playbook([sts], kubeconfig=config))["changed"] is True
        for replicas, expected in ((2, True), (2, False)):
            step = sts_task(namespace, image="registry.example/mariadb:11.4", replicas=replicas, wait=False)
            assert only_result(playbook([step], kubeconfig=config))["changed"] is expected
        assert proxy.faults_fired(), "the proxy never rewrote a Date header"
    finally:
        proxy.stop()


def test_another_managers_replicas_fail_without_force_and_are_taken_with_it(playbook, namespace, apps, kubeconfig):
    from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sClient

    base = {"image": "registry.example/mariadb:11.4", "replicas": 1, "wait": False}
    assert only_result(playbook([sts_task(namespace, **base)]))["changed"] is True
    other = K8sClient.from_auth({"kubeconfig": kubeconfig})
    other.patch("apps/v1", "StatefulSet", "db", namespace,
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": namespace},
                 "spec": {"replicas": 2}}, patch_type="apply", field_manager="hpa-like-autoscaler", force=True)
    refused = only_result(playbook([sts_task(namespace, **with_options(base, replicas=3))]))
    assert refused.get("failed") is True
    assert "hpa-like-autoscaler" in refused["msg"] and ".spec.replicas" in refused["msg"]
    assert "force: true" in refused["msg"]
    assert apps.read_namespaced_stateful_set("db", namespace).spec.replicas == 2
    forced = only_result(playbook([sts_task(namespace, force=True, **with_options(base, replicas=3))]))
    assert forced["changed"] is True
    assert apps.read_namespaced_stateful_set("db", namespace).spec.replicas == 3


def test_adding_a_label_keeps_the_selector(playbook, namespace, apps):
    base = {"image": "registry.example/mariadb:11.4", "replicas": 1, "wait": False, "labels": {"app": "db"}}
    assert only_result(playbook([sts_task(namespace, **base)]))["changed"] is True
    more = only_result(playbook([sts_task(namespace, **with_options(base, labels={"app": "db", "team": "data"}))]))
    assert more.get("failed") is not True, more.get("msg")
    live = apps.read_namespaced_stateful_set("db", namespace)
    assert live.spec.selector.match_labels == {"app": "db"}
    assert live.metadata.labels == {"app": "db", "team": "data"}


def test_delete_pvcs_after_a_teardown_that_kept_them(playbook, namespace, core):
    from kubernetes import client

    for ordinal in (0, 1):
        core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name="data-db-%d" % ordinal, labels={"app": "db"}),
            spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name="none",
                                                    resources=client.V1VolumeResourceRequirements(
                                                        requests={"storage": "1Gi"}))))
    kept = only_result(playbook([sts_task(namespace, state="absent")]))
    assert (kept["changed"], kept["pvcs_kept"]) == (False, ["data-db-0", "data-db-1"])
    gone = only_result(playbook([sts_task(namespace, state="absent", delete_pvcs=True, labels={"app": "db"})]))
    assert gone["changed"] is True and gone["pvcs_deleted"] == ["data-db-0", "data-db-1"]
    assert [c.metadata.name for c in core.list_namespaced_persistent_volume_claim(namespace).items] == []
