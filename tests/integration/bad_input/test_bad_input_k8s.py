# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the Kubernetes modules: each case fails with a message naming the field and what to
do, no traceback, within seconds (wait_timeout is 600 everywhere), and nothing is written (the
namespace's objects keep their resourceVersion, or the stand-in API server saw no write)."""
import pytest

from conftest import assert_clean_failure, run_module_cases

STS = "statefuldb.k8s.statefulset"
SVC = "statefuldb.k8s.headless_service"
RES = "statefuldb.k8s.resource"
RES_INFO = "statefuldb.k8s.resource_info"
STS_INFO = "statefuldb.k8s.statefulset_info"
NS = "@NS@"  # replaced by the target's namespace


def sts(**args):
    base = {"name": "db", "namespace": NS, "image": "mariadb:10.11", "replicas": 1, "wait_timeout": 600}
    base.update(args)
    return {k: v for k, v in base.items() if v is not None}


def svc(**args):
    base = {"name": "db", "namespace": NS, "selector": {"app": "db"}, "ports": [3306]}
    base.update(args)
    return {k: v for k, v in base.items() if v is not None}


def cm(**fields):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": NS}}
    obj.update(fields)
    return obj


def sts_def(**spec):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": dict({"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                          "template": {"metadata": {"labels": {"app": "db"}},
                                       "spec": {"containers": [{"name": "db", "image": "mariadb:10.11"}]}}},
                         **spec)}


CASES = [
    # statefulset
    ("sts-kind-null", STS, sts(image=None, definition={"apiVersion": "apps/v1", "kind": None}), ["definition.kind"]),
    ("sts-kind-wrong", STS, sts(image=None, definition={"apiVersion": "apps/v1", "kind": "Deployment"}),
     ["definition.kind", "statefuldb.k8s.resource"]),
    ("sts-apiversion-number", STS, sts(image=None, definition={"apiVersion": 5, "kind": "StatefulSet"}),
     ["definition.apiVersion", "apps/v1"]),
    ("sts-namespace-conflict", STS, sts(namespace="other-ns", image=None,
                                        definition=dict(sts_def(), metadata={"name": "db", "namespace": NS})),
     ["namespace", "differs from definition.metadata.namespace"]),
    ("sts-replicas-negative", STS, sts(replicas=-1), ["replicas", "0 or more"]),
    ("sts-size-words", STS, sts(volume_claim_templates=[{"name": "data", "size": "ten gigs", "mount_path": "/d"}]),
     ["volume_claim_templates[0].size", "10Gi"]),
    ("sts-size-zero", STS, sts(volume_claim_templates=[{"name": "data", "size": "0"}]),
     ["volume_claim_templates[0].size", "greater than zero"]),
    ("sts-storage-class", STS, sts(volume_claim_templates=[{"name": "data", "size": "1Gi",
                                                            "storage_class": "Bad Class!"}]),
     ["volume_claim_templates[0].storage_class", "DNS-1123"]),
    ("sts-image-space", STS, sts(image="mariadb 10.11"), ["image", "whitespace"]),
    ("sts-name-upper", STS, sts(name="DB"), ["name", "DNS-1123"]),
    ("sts-namespace-bad", STS, sts(namespace="Bad_NS"), ["namespace", "DNS-1123"]),
    ("sts-label-number", STS, sts(labels={"tier": 1}), ["labels.tier", "quote"]),
    ("sts-memory-words", STS, sts(image=None, template={"spec": {"containers": [
        {"name": "db", "image": "x", "resources": {"limits": {"memory": "a lot"}}}]}}),
     ["resources.limits.memory", "quantity"]),
    ("sts-def-claim-size", STS, sts(image=None, definition=sts_def(volumeClaimTemplates=[
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "ten gigs"}}}}])),
     ["volumeClaimTemplates[0].spec.resources.requests.storage", "10Gi"]),
    ("sts-container-port", STS, sts(image=None, definition=sts_def(template={
        "metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": "x", "ports": [{"containerPort": 70000}]}]}})),
     ["containerPort", "1 to 65535"]),
    ("sts-partition-negative", STS, sts(partition=-1), ["partition", "0 or more"]),
    ("sts-wait-timeout-zero", STS, sts(wait_timeout=0), ["wait_timeout", "positive"]),
    ("sts-host-no-scheme", STS, sts(kubeconfig=None, host="127.0.0.1:6443", api_key="x"),
     ["host", "scheme", "https://"]),
    ("sts-host-bad-port", STS, sts(kubeconfig=None, host="https://127.0.0.1:99999", api_key="x"),
     ["host", "port"]),
    ("sts-proxy-bad", STS, sts(proxy="proxy.example:3128"), ["proxy", "scheme"]),
    # headless_service
    ("svc-port-name", SVC, svc(ports=[{"port": "mysql"}]), ["ports[0].port", "name"]),
    ("svc-port-range", SVC, svc(ports=[{"port": 70000, "name": "mysql"}]), ["ports[0].port", "1 to 65535"]),
    ("svc-target-port", SVC, svc(ports=[{"port": 3306, "target_port": "My_Port"}]),
     ["ports[0].target_port", "port name"]),
    ("svc-port-protocol", SVC, svc(ports=[{"port": 3306, "protocol": "HTTP"}]), ["ports[0].protocol", "TCP"]),
    ("svc-kind-null", SVC, svc(definition={"apiVersion": "v1", "kind": None}), ["definition", "v1 Service"]),
    ("svc-namespace-conflict", SVC, svc(namespace="other-ns", definition={
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": NS}}),
     ["namespace", "differs"]),
    ("svc-selector-number", SVC, svc(selector={"app": 5}), ["selector.app", "quote"]),
    ("svc-no-selector", SVC, svc(selector=None), ["selector is required"]),
    ("svc-name-digit", SVC, svc(name="1db"), ["name", "DNS-1035"]),
    ("svc-cluster-domain", SVC, svc(cluster_domain="Cluster Local"), ["cluster_domain", "DNS-1123"]),
    # resource
    ("res-kind-null", RES, {"definition": cm(kind=None)}, ["definition.kind is required"]),
    ("res-apiversion-number", RES, {"definition": cm(apiVersion=5)}, ["definition.apiVersion", "apps/v1"]),
    ("res-kind-lower", RES, {"definition": cm(kind="configmap")}, ["definition.kind", "CamelCase"]),
    ("res-list-kind-null", RES, {"definition": [cm(), cm(kind=None, metadata={"name": "b"})]},
     ["definition[1].kind"]),
    ("res-pvc-size", RES, {"namespace": NS, "definition": {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "ten gigs"}}}}},
     ["spec.resources.requests.storage", "10Gi"]),
    ("res-service-port-name", RES, {"namespace": NS, "definition": {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": "mysql"}], "selector": {"a": "b"}}}}, ["spec.ports[0].port", "1 to 65535"]),
    ("res-name-bad", RES, {"definition": cm(metadata={"name": "Bad Name", "namespace": NS})},
     ["metadata.name", "DNS-1123"]),
    ("res-yaml-broken", RES, {"definition": "kind: [unclosed"}, ["definition is not valid YAML"]),
    ("res-empty", RES, {"definition": []}, ["definition holds no objects"]),
    ("res-namespace-option", RES, {"namespace": "Bad NS", "definition": cm(metadata={"name": "cm"})},
     ["namespace", "DNS-1123"]),
    ("res-label-bool", RES, {"definition": cm(metadata={"name": "cm", "namespace": NS, "labels": {"on": True}})},
     ["labels.on", "quote"]),
    # resource_info / statefulset_info
    ("info-apiversion", RES_INFO, {"api_version": "apps", "kind": "StatefulSet", "namespace": NS},
     ["api_version", "apps/v1"]),
    ("info-kind-lower", RES_INFO, {"kind": "statefulset", "api_version": "apps/v1", "namespace": NS},
     ["kind", "CamelCase"]),
    ("info-namespace", RES_INFO, {"kind": "Pod", "namespace": "Bad NS"}, ["namespace", "DNS-1123"]),
    ("stsinfo-service", STS_INFO, {"name": "db", "namespace": NS, "service": "Bad Service"},
     ["service", "DNS-1035"]),
    ("stsinfo-domain", STS_INFO, {"name": "db", "namespace": NS, "cluster_domain": "a b"},
     ["cluster_domain", "DNS-1123"]),
    ("stsinfo-name", STS_INFO, {"name": "DB", "namespace": NS}, ["name", "DNS-1123"]),
]


def _with_namespace(value, namespace):
    if isinstance(value, dict):
        return {k: _with_namespace(v, namespace) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_namespace(v, namespace) for v in value]
    return namespace if value == NS else value


@pytest.fixture(scope="module")
def k8s_runs(k8s_target):
    cases = []
    for case_id, module, args, expect in CASES:
        args = _with_namespace(args, k8s_target.namespace)
        if "kubeconfig" not in args and "host" not in args:
            args["kubeconfig"] = k8s_target.kubeconfig
        cases.append({"id": case_id, "module": module, "args": args, "expect": expect})
    before = k8s_target.snapshot()
    results = run_module_cases(cases)
    after = k8s_target.snapshot()
    return {"cases": {c["id"]: c for c in cases}, "results": results, "before": before, "after": after}


@pytest.mark.parametrize("case_id", [c[0] for c in CASES])
def test_k8s_bad_input(k8s_runs, case_id):
    case = k8s_runs["cases"][case_id]
    result, seconds = k8s_runs["results"][case_id]
    assert_clean_failure(case, result, seconds)


def test_k8s_bad_input_wrote_nothing(k8s_runs):
    assert k8s_runs["before"] == k8s_runs["after"]
