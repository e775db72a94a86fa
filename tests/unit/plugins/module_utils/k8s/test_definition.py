"""Module options -> manifests, and bad input rejected with the field named (before any request)."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import (
    DefinitionError,
    build_headless_service,
    build_statefulset,
    load_definitions,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.claims import storage_growth
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import statefulset


def params(**kwargs):
    base = {key: None for key in ("name", "namespace", "definition", "replicas", "image", "service_name",
                                  "pod_management_policy", "volume_claim_templates", "pvc_retention_policy",
                                  "update_strategy", "partition", "labels", "template", "selector", "ports",
                                  "publish_not_ready_addresses")}
    base.update(kwargs)
    return base


def test_statefulset_from_options():
    obj = build_statefulset(params(name="db", namespace="data", image="mariadb:11", replicas=3,
                                   volume_claim_templates=[{"name": "data", "size": "1Gi", "mount_path": "/var/lib/mysql"}],
                                   pod_management_policy="Parallel", partition=1))
    spec = obj["spec"]
    assert spec["serviceName"] == "db" and spec["replicas"] == 3 and spec["podManagementPolicy"] == "Parallel"
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "db"}}
    assert spec["template"]["metadata"]["labels"] == {"app.kubernetes.io/name": "db"}
    assert spec["template"]["spec"]["containers"][0]["volumeMounts"] == [{"name": "data", "mountPath": "/var/lib/mysql"}]
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}


def test_replicas_alone_is_a_scale():
    obj = build_statefulset(params(name="db", namespace="data", replicas=1))
    assert obj == {"apiVersion": "apps/v1", "kind": "StatefulSet",
                   "metadata": {"name": "db", "namespace": "data"}, "spec": {"replicas": 1}}


BAD_INPUT = [
    ("invalid name", params(name="Bad_Name", namespace="data", image="x"), "name: 'Bad_Name' is not a valid DNS-1123"),
    ("negative replicas", params(name="db", namespace="data", image="x", replicas=-1), "replicas must be 0 or more"),
    ("wrong kind", params(namespace="data",
                          definition={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "db"}}),
     "definition.kind must be StatefulSet, got 'Deployment'"),
    ("missing namespace", params(name="db", image="x"), "namespace is required"),
    ("invalid namespace", params(name="db", namespace="Data", image="x"), "namespace: 'Data' is not a valid DNS-1123 label"),
    ("no pod template", params(name="db", namespace="data", replicas=2, labels={"a": "b"}), "image (or template"),
    ("bad service name", params(name="db", namespace="data", image="x", service_name="1db"), "service_name: '1db'"),
    ("partition with OnDelete", params(name="db", namespace="data", image="x", update_strategy="OnDelete",
                                       partition=1), "partition only applies"),
    ("template without size", params(name="db", namespace="data", image="x", volume_claim_templates=[{"name": "d"}]),
     "volume_claim_templates[0].size is required"),
    ("name mismatch", params(name="db", namespace="data",
                             definition={"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "other"}}),
     "differs from definition.metadata.name"),
    ("bad YAML", params(name="db", namespace="data", definition="kind: [unclosed"), "definition is not valid YAML"),
]


@pytest.mark.parametrize("case,options,fragment", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_statefulset_input(case, options, fragment):
    with pytest.raises(DefinitionError) as caught:
        build_statefulset(options)
    assert fragment in str(caught.value)


def test_headless_service():
    obj = build_headless_service(params(name="db", namespace="data", selector={"app": "db"},
                                        ports=[{"name": "mysql", "port": 3306}], publish_not_ready_addresses=True))
    assert obj["spec"] == {"clusterIP": "None", "selector": {"app": "db"}, "publishNotReadyAddresses": True,
                           "ports": [{"port": 3306, "protocol": "TCP", "name": "mysql"}]}


@pytest.mark.parametrize("options,fragment", [
    (params(name="db", namespace="data"), "selector is required"),
    (params(name="1db", namespace="data", selector={"a": "b"}), "not a valid Service name"),
    (params(name="db", namespace="data", selector={"a": "b"}, ports=[3306, 3307]), "every port needs a name"),
    (params(namespace="data", definition={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                                          "spec": {"clusterIP": "10.0.0.1", "selector": {"a": "b"}}}),
     "clusterIP must be None"),
])
def test_bad_service_input(options, fragment):
    with pytest.raises(DefinitionError, match=None) as caught:
        build_headless_service(options)
    assert fragment in str(caught.value)


def test_load_definitions_multi_document_yaml_and_lists():
    docs = load_definitions("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
                            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n")
    assert [d["kind"] for d in docs] == ["ConfigMap", "Secret"]


def vct(size, storage_class=None):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return [{"metadata": {"name": "data"}, "spec": spec}]


@pytest.mark.parametrize("wanted,live,expected", [
    (vct("2Gi"), vct("1Gi", "standard"), [("data", "1Gi", "2Gi")]),
    (vct("1Gi"), vct("1024Mi", "standard"), []),
    (vct("1Gi"), vct("2Gi"), None),  # shrinking is not a growth
    (vct("2Gi", "fast"), vct("1Gi", "standard"), None),  # class change is not a growth
])
def test_storage_growth(wanted, live, expected):
    assert storage_growth(statefulset(templates=wanted), statefulset(templates=live)) == expected
