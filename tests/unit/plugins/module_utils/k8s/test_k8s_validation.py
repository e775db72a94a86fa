"""Table-driven tests of plugins/module_utils/k8s/validation.py and of the checks definition.py runs."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import validation as v
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import (
    DefinitionError,
    build_headless_service,
    build_statefulset,
    check_object,
    load_definitions,
)


@pytest.mark.parametrize("value", ["10Gi", "1Gi", "500Mi", "1.5Gi", "2", 2, "1e3", "100m", "1k", "+1G", ".5Gi"])
def test_quantity_ok(value):
    assert v.quantity_error(value, "size") is None


@pytest.mark.parametrize("value,words", [
    ("ten gigs", "not a Kubernetes quantity"), ("10 Gi", "not a Kubernetes quantity"), ("10GB", "quantity"),
    ("", "quantity"), ({"size": 1}, "not a quantity"), (True, "not a quantity"), ("0", "greater than zero"),
    ("0Gi", "greater than zero"), ("-1Gi", "greater than zero"), (None, "not a quantity"),
])
def test_quantity_errors_name_the_field(value, words):
    error = v.quantity_error(value, "volume_claim_templates[0].size")
    assert error and "volume_claim_templates[0].size" in error and words in error


def test_resource_quantity_may_be_zero():
    assert v.quantity_error("0", "cpu", positive=False) is None


@pytest.mark.parametrize("value,ok", [(1, True), (65535, True), ("3306", True), (0, False), (65536, False),
                                      (70000, False), (-1, False), ("mysql", False), (True, False), (None, False),
                                      (3.5, False)])
def test_port(value, ok):
    error = v.port_error(value, "ports[0].port")
    assert (error is None) == ok
    if not ok:
        assert "ports[0].port" in error and "1 to 65535" in error


@pytest.mark.parametrize("value,ok", [("mysql", True), ("http-alt", True), ("a", True), ("x1", True),
                                      ("MySQL", False), ("-a", False), ("a--b", False), ("123", True),
                                      ("a" * 16, False), ("", False), (3306, True), (0, False)])
def test_target_port(value, ok):
    assert (v.target_port_error(value, "target_port") is None) == ok


@pytest.mark.parametrize("value,ok", [("v1", True), ("apps/v1", True), ("batch/v1beta1", True),
                                      ("discovery.k8s.io/v1", True), ("example.com/v2alpha1", True),
                                      (5, False), (None, False), ("", False), ("apps", False),
                                      ("Apps/v1", False), ("apps/v1/", False), ("apps/1", False), (["v1"], False)])
def test_api_version(value, ok):
    error = v.api_version_error(value, "definition.apiVersion")
    assert (error is None) == ok
    if not ok:
        assert "definition.apiVersion" in error


@pytest.mark.parametrize("value,ok", [("StatefulSet", True), ("ConfigMap", True), ("statefulset", False),
                                      (None, False), ("", False), (5, False), ("Stateful Set", False)])
def test_kind(value, ok):
    assert (v.kind_error(value, "kind") is None) == ok


@pytest.mark.parametrize("value,ok", [("mariadb:10.11", True), ("registry.example.com:5000/db/mysql:8.4", True),
                                      ("img@sha256:abc", True), ({"name": "x"}, False), ("", False),
                                      ("mariadb 10.11", False), (None, False), (5, False)])
def test_image(value, ok):
    assert (v.image_error(value, "image") is None) == ok


@pytest.mark.parametrize("labels,ok", [({"app": "db"}, True), ({"example.com/tier": "data"}, True), ({}, True),
                                       (None, True), ({"app": 1}, False), ({"app": True}, False),
                                       ({"bad key!": "x"}, False), ({"app": "has space"}, False),
                                       ({"a" * 64: "x"}, False), ({"Bad_Prefix/x": "y"}, False), ("app=db", False)])
def test_labels(labels, ok):
    assert (v.labels_error(labels, "labels") is None) == ok


@pytest.mark.parametrize("url,ok", [("https://127.0.0.1:6443", True), ("http://localhost:8080/", True),
                                    ("https://[::1]:6443", True), ("127.0.0.1:6443", False),
                                    ("localhost", False), ("https://", False), ("https://host:99999", False),
                                    ("https://host:port", False), ("ftp://host", False), ("https://a b", False),
                                    ("", False), (None, False)])
def test_url(url, ok):
    error = v.url_error(url, "host")
    assert (error is None) == ok
    if not ok:
        assert error.startswith("host")


def test_pod_spec_quantities_ports_and_images():
    good = {"containers": [{"name": "db", "image": "mariadb:10.11", "ports": [{"name": "mysql", "containerPort": 3306}],
                            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}}]}
    assert v.pod_spec_error(good, "spec") is None
    bad_memory = {"containers": [{"name": "db", "image": "x", "resources": {"limits": {"memory": "lots"}}}]}
    assert "spec.containers[0].resources.limits.memory" in v.pod_spec_error(bad_memory, "spec")
    bad_port = {"containers": [{"name": "db", "image": "x", "ports": [{"containerPort": 70000}]}]}
    assert "spec.containers[0].ports[0].containerPort" in v.pod_spec_error(bad_port, "spec")
    bad_image = {"containers": [{"name": "db", "image": {"repo": "x"}}]}
    assert "spec.containers[0].image" in v.pod_spec_error(bad_image, "spec")


def test_object_error_per_kind():
    pvc = {"kind": "PersistentVolumeClaim", "spec": {"resources": {"requests": {"storage": "ten gigs"}}}}
    assert "definition.spec.resources.requests.storage" in v.object_error(pvc)
    svc = {"kind": "Service", "spec": {"ports": [{"port": "mysql"}]}}
    assert "definition.spec.ports[0].port" in v.object_error(svc)
    sts = {"kind": "StatefulSet", "spec": {"replicas": -1}}
    assert "definition.spec.replicas" in v.object_error(sts)
    assert v.object_error({"kind": "ConfigMap", "data": {}}) is None


# ---- the checks wired into definition.py ------------------------------------------------------
def test_kind_null_is_a_message_not_a_traceback():
    docs = load_definitions({"apiVersion": "v1", "kind": None, "metadata": {"name": "x"}})
    with pytest.raises(DefinitionError, match=r"definition\.kind is required"):
        check_object(docs[0], "ns")


def test_api_version_number_is_a_message():
    with pytest.raises(DefinitionError, match=r"definition\.apiVersion: 5 is not an apiVersion"):
        check_object({"apiVersion": 5, "kind": "ConfigMap", "metadata": {"name": "x"}}, "ns")


def _sts(**extra):
    params = {"name": "db", "namespace": "ns", "image": "mariadb:10.11", "replicas": 1}
    params.update(extra)
    return params


@pytest.mark.parametrize("params,field", [
    (_sts(namespace="other", definition={"apiVersion": "apps/v1", "kind": "StatefulSet",
                                         "metadata": {"name": "db", "namespace": "ns"}}), "namespace"),
    (_sts(volume_claim_templates=[{"name": "data", "size": "ten gigs"}]), "volume_claim_templates[0].size"),
    (_sts(volume_claim_templates=[{"name": "data", "size": "1Gi", "storage_class": "Bad Class!"}]),
     "volume_claim_templates[0].storage_class"),
    (_sts(image="mariadb 10"), "image"),
    (_sts(labels={"tier": 1}), "labels.tier"),
    (_sts(image=None, template={"spec": {"containers": [
        {"name": "db", "image": "x", "resources": {"requests": {"memory": "much"}}}]}}),
     "resources.requests.memory"),
    (_sts(definition={"apiVersion": "apps/v1", "kind": None}), "definition.kind"),
])
def test_build_statefulset_rejects(params, field):
    with pytest.raises(DefinitionError) as info:
        build_statefulset(params)
    assert field in str(info.value)


def test_namespace_option_equal_to_definition_is_fine():
    obj = build_statefulset(_sts(definition={"apiVersion": "apps/v1", "kind": "StatefulSet",
                                             "metadata": {"name": "db", "namespace": "ns"}}))
    assert obj["metadata"]["namespace"] == "ns"


def _svc(**extra):
    params = {"name": "db", "namespace": "ns", "selector": {"app": "db"}, "ports": [3306]}
    params.update(extra)
    return params


@pytest.mark.parametrize("params,field", [
    (_svc(ports=[{"port": "mysql"}]), "ports[0].port"),
    (_svc(ports=[{"port": 70000}]), "ports[0].port"),
    (_svc(ports=[{"port": 3306, "target_port": "Not_A_Name"}]), "ports[0].target_port"),
    (_svc(ports=[{"port": 3306, "name": "MySQL"}]), "ports[0].name"),
    (_svc(ports=[{"port": 3306, "protocol": "HTTP"}]), "ports[0].protocol"),
    (_svc(selector={"app": 5}), "selector.app"),
    (_svc(namespace="b", definition={"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": "a"}}),
     "namespace"),
])
def test_build_headless_service_rejects(params, field):
    with pytest.raises(DefinitionError) as info:
        build_headless_service(params)
    assert field in str(info.value)
