"""DNS names, ordinals, PVC names, EndpointSlices and name validation."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    dns1035_label_error,
    dns1123_label_error,
    ordinal_range,
    pod_dns_name,
    pod_ordinal,
    pvc_name,
    pvc_names,
    pvc_ordinal,
    selector_string,
    service_pods,
)
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import statefulset

TEMPLATES = [{"metadata": {"name": "data"}, "spec": {}}, {"metadata": {"name": "logs"}, "spec": {}}]


@pytest.mark.parametrize("pod,sts,expected", [("db-0", "db", 0), ("db-12", "db", 12), ("db-web-0", "db", None),
                                              ("dbx-1", "db", None), ("db-", "db", None), ("my-db-3", "my-db", 3)])
def test_pod_ordinal(pod, sts, expected):
    assert pod_ordinal(pod, sts) == expected


def test_names():
    assert pod_dns_name("db-1", "db", "data") == "db-1.db.data.svc.cluster.local"
    assert pod_dns_name("db-1", "db", "data", "corp.example") == "db-1.db.data.svc.corp.example"
    assert pvc_name("data", "db", 2) == "data-db-2"
    sts = statefulset(templates=TEMPLATES)
    assert pvc_names(sts, 1) == ["data-db-1", "logs-db-1"]
    assert pvc_ordinal("logs-db-7", sts) == 7
    assert pvc_ordinal("data-other-7", sts) is None


def test_ordinal_range_honours_start():
    sts = statefulset(replicas=2)
    assert list(ordinal_range(sts)) == [0, 1]
    sts["spec"]["ordinals"] = {"start": 5}
    assert list(ordinal_range(sts)) == [5, 6]


def test_selector_string():
    assert selector_string({"matchLabels": {"b": "2", "a": "1"},
                            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db", "cache"]},
                                                 {"key": "legacy", "operator": "DoesNotExist"}]}) == \
        "a=1,b=2,tier in (db,cache),!legacy"


def test_service_pods_from_endpoint_slices():
    slices = [{"endpoints": [
        {"addresses": ["10.244.0.7"], "conditions": {"ready": False}, "targetRef": {"kind": "Pod", "name": "db-1"}},
        {"addresses": ["10.244.0.5"], "conditions": {"ready": True}, "targetRef": {"kind": "Pod", "name": "db-0"}},
    ]}, {"endpoints": [{"addresses": ["10.244.0.9"], "hostname": "db-2", "conditions": {}}]}]
    pods = service_pods(slices, "db", "data", statefulset_name="db")
    assert [(p["name"], p["ordinal"], p["ip"], p["ready"]) for p in pods] == [
        ("db-0", 0, "10.244.0.5", True), ("db-1", 1, "10.244.0.7", False), ("db-2", 2, "10.244.0.9", True)]
    assert pods[0]["dns_name"] == "db-0.db.data.svc.cluster.local"


@pytest.mark.parametrize("value,ok", [("db", True), ("db-1", True), ("1db", True), ("Db", False), ("db_1", False),
                                      ("-db", False), ("a" * 64, False), ("", False), (None, False)])
def test_dns1123_label(value, ok):
    assert (dns1123_label_error(value, "name") is None) is ok


def test_dns1035_label_needs_a_letter_first():
    assert dns1035_label_error("1db", "service_name") is not None
    assert "service_name" in dns1035_label_error("1db", "service_name")
