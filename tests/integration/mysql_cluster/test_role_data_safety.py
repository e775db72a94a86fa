"""Issue 11 item 3: the role never separates data from its password (API server only, no database needed).

Claims are created directly, as an earlier deployment and a teardown that kept the data leave them;
no pod ever mounts them.
"""
import base64
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
TEARDOWN = os.path.join(REPO, "playbooks", "mysql_cluster_teardown.yml")
SELECTOR = {"app.kubernetes.io/name": "mysql-cluster", "app.kubernetes.io/instance": "mysql"}


@pytest.fixture
def core(k8s_client):
    from kubernetes import client

    return client.CoreV1Api(k8s_client)


def make_claims(core, namespace, ordinals=(0, 1), finalizers=None):
    from kubernetes import client

    for ordinal in ordinals:
        core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name="data-mysql-%d" % ordinal, labels=dict(SELECTOR),
                                         finalizers=finalizers),
            spec=client.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"], storage_class_name="none",
                resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}))))


def make_secret(core, namespace):
    from kubernetes import client

    data = {k: base64.b64encode(b"old-password").decode() for k in ("root-password", "replication-password")}
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="mysql-credentials"), data=data))


def claims(core, namespace):
    return sorted(c.metadata.name for c in core.list_namespaced_persistent_volume_claim(namespace).items)


def secrets(core, namespace):
    return [s.metadata.name for s in core.list_namespaced_secret(namespace).items
            if s.metadata.name == "mysql-credentials"]


def test_delete_data_after_a_teardown_that_kept_it_removes_claims_then_secret(playbook, namespace, core):
    make_claims(core, namespace)
    make_secret(core, namespace)
    kept = playbook(TEARDOWN, extra_vars={"mysql_cluster_namespace": namespace})
    assert kept.rc == 0, kept.stdout[-3000:]
    assert claims(core, namespace) == ["data-mysql-0", "data-mysql-1"] and secrets(core, namespace)
    gone = playbook(TEARDOWN, extra_vars={"mysql_cluster_namespace": namespace, "delete_data": True})
    assert gone.rc == 0, gone.stdout[-3000:]
    assert claims(core, namespace) == [] and secrets(core, namespace) == []


def test_secret_stays_while_a_claim_remains(playbook, namespace, core):
    make_claims(core, namespace, ordinals=(0,), finalizers=["statefuldb.test/hold"])
    make_secret(core, namespace)
    try:
        run = playbook(TEARDOWN, extra_vars={"mysql_cluster_namespace": namespace, "delete_data": True,
                                             "mysql_cluster_wait_timeout": 5})
        assert run.rc != 0
        assert "data-mysql-0 still exist" in run.stdout
        assert secrets(core, namespace) == ["mysql-credentials"]
    finally:
        core.patch_namespaced_persistent_volume_claim("data-mysql-0", namespace, {"metadata": {"finalizers": None}})


def test_deploy_onto_kept_claims_without_their_secret_fails_before_generating_a_password(playbook, namespace, core):
    make_claims(core, namespace)
    run = playbook(DEPLOY, extra_vars={"mysql_cluster_namespace": namespace, "mysql_cluster_replicas": 2})
    assert run.rc != 0
    assert "data-mysql-0, data-mysql-1" in run.stdout and "none was generated" in run.stdout
    assert secrets(core, namespace) == []
    assert claims(core, namespace) == ["data-mysql-0", "data-mysql-1"]
