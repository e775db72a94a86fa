"""lifecycle: claim expansion before a re-create, the storage-growth check, and waiting for claims to go."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError, K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.claims import (
    expand_claims,
    storage_growth,
    wait_claims_gone,
)
from k8s_fakes import FakeClient, FakeCluster, claim, statefulset


def template(name="data", size="1Gi", storage_class=None, modes=None):
    spec = {"resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    if modes:
        spec["accessModes"] = modes
    return {"metadata": {"name": name}, "spec": spec}


@pytest.mark.parametrize("wanted,live,expected", [
    ([template(size="2Gi")], [template(size="1Gi")], [("data", "1Gi", "2Gi")]),
    ([template(size="1Gi")], [template(size="1Gi")], []),
    ([template(size="512Mi")], [template(size="1Gi")], None),            # shrinking is not growth
    ([template(name="logs", size="2Gi")], [template(size="1Gi")], None),  # another template
    ([template(size="2Gi", storage_class="fast")], [template(size="1Gi", storage_class="slow")], None),
    ([template(size="2Gi", modes=["ReadWriteMany"])], [template(size="1Gi", modes=["ReadWriteOnce"])], None),
    ([template(), template(name="logs")], [template()], None),           # a template added
])
def test_storage_growth(wanted, live, expected):
    assert storage_growth({"spec": {"volumeClaimTemplates": wanted}}, {"spec": {"volumeClaimTemplates": live}}) \
        == expected


def sized_claim(name, size, storage_class="standard"):
    obj = claim(name, {"app": "db"})
    obj["spec"]["resources"]["requests"]["storage"] = size
    obj["spec"]["storageClassName"] = storage_class
    return obj


def storage_class(name, expandable):
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "allowVolumeExpansion": expandable}


def grown_pair():
    current = statefulset("db", replicas=2, templates=[template(size="1Gi")])
    desired = statefulset("db", replicas=2, templates=[template(size="2Gi")])
    return desired, current


@pytest.mark.parametrize("check_mode", [False, True])
def test_expand_claims_grows_each_claim_that_is_smaller(check_mode):
    desired, current = grown_pair()
    cluster = FakeCluster([current, storage_class("standard", True), sized_claim("data-db-0", "1Gi"),
                           sized_claim("data-db-1", "2Gi")])
    assert expand_claims(cluster, desired, current, check_mode) == [{"name": "data-db-0", "storage": "2Gi"}]
    patches = [c for c in cluster.calls if c[0] == "patch"]
    assert [(c[1][2], c[2]["dry_run"]) for c in patches] == [("data-db-0", check_mode)]
    stored = cluster.objects[("PersistentVolumeClaim", "ns", "data-db-0")]["spec"]["resources"]["requests"]
    assert stored["storage"] == ("1Gi" if check_mode else "2Gi")


@pytest.mark.parametrize("classes,why", [
    ([storage_class("standard", False)], "does not allow volume expansion"),
    ([], "does not exist"),
])
def test_expand_claims_refuses_before_writing_when_the_class_cannot_grow(classes, why):
    desired, current = grown_pair()
    cluster = FakeCluster([current, sized_claim("data-db-0", "1Gi")] + classes)
    with pytest.raises(K8sError, match="PVC data-db-0 cannot grow from 1Gi to 2Gi: its StorageClass 'standard' " + why):
        expand_claims(cluster, desired, current, False)
    assert not [c for c in cluster.calls if c[0] == "patch"]


def test_expand_claims_without_growth_reads_nothing():
    current = statefulset("db", templates=[template()])
    client = FakeClient()
    assert expand_claims(client, current, current, False) == [] and client.calls == []


def listing(names, rv="10"):
    return {"metadata": {"resourceVersion": rv}, "items": [{"metadata": {"name": n}} for n in names]}


def event(kind, name, rv):
    return {"type": kind, "object": {"metadata": {"name": name, "resourceVersion": rv}}}


def test_wait_claims_gone_follows_deletions_and_relists_after_410():
    client = FakeClient({
        "list": [listing(["data-db-0", "data-db-1", "other"]), listing(["data-db-1"], rv="20")],
        "watch": [K8sApiError("too old", status=410),
                  iter([event("MODIFIED", "other", "21"), event("DELETED", "data-db-1", "22")])],
    })
    assert wait_claims_gone(client, "ns", ["data-db-0", "data-db-1"], 30) == {}
    watches = [c for c in client.calls if c[0] == "watch"]
    assert [w[2]["resource_version"] for w in watches] == ["10", "20"]


def test_wait_claims_gone_returns_what_is_left_at_the_deadline():
    client = FakeClient({"list": [listing(["data-db-0"])]})
    assert list(wait_claims_gone(client, "ns", ["data-db-0"], 0)) == ["data-db-0"]


def test_wait_claims_gone_raises_other_watch_errors():
    client = FakeClient({"list": [listing(["data-db-0"])], "watch": [K8sApiError("forbidden", status=403)]})
    with pytest.raises(K8sApiError, match="forbidden"):
        wait_claims_gone(client, "ns", ["data-db-0"], 30)
