"""Server-side apply decisions: exact changed, request counts, check mode, diff, masking, immutable fields."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import (
    MASK,
    MASK_CHANGED,
    ImmutableFieldError,
    apply_object,
    changed_immutable_fields,
    make_diff,
    possibly_changed,
    quantity_bytes,
    result_view,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import FakeClient, statefulset

DATE = "Thu, 01 Jan 2026 00:10:00 GMT"


def configmap(value="1", rv="5", touched="2026-01-01T00:00:00Z", manager="statefuldb"):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "ns", "resourceVersion": rv,
                         "managedFields": [{"manager": manager, "operation": "Apply", "time": touched}]},
            "data": {"a": value}}


POSSIBLY_CHANGED = [
    ("touched ten minutes ago: proven no-op", "2026-01-01T00:00:00Z", DATE, 0.01, False),
    ("touched this second: maybe this apply", "2026-01-01T00:10:00Z", DATE, 0.01, True),
    ("touched 2 s before: inside the window", "2026-01-01T00:09:58Z", DATE, 0.01, True),
    ("touched 3 s before: outside the window", "2026-01-01T00:09:57Z", DATE, 0.01, False),
    ("slow request widens the window", "2026-01-01T00:09:55Z", DATE, 4.0, True),
    ("no Date header: cannot prove", "2026-01-01T00:00:00Z", None, 0.01, True),
    ("Date without zone is UTC", "2026-01-01T00:00:00Z", "Thu, 01 Jan 2026 00:10:00 -0000", 0.01, False),
    ("garbage Date: cannot prove", "2026-01-01T00:00:00Z", "yesterday", 0.01, True),
]


@pytest.mark.parametrize("case,touched,date,elapsed,expected", POSSIBLY_CHANGED, ids=[c[0] for c in POSSIBLY_CHANGED])
def test_possibly_changed(case, touched, date, elapsed, expected):
    assert possibly_changed(configmap(touched=touched), "statefuldb", date, elapsed) is expected


def test_possibly_changed_without_our_manager_entry():
    assert possibly_changed(configmap(manager="kubectl"), "statefuldb", DATE, 0.01) is True


def test_noop_costs_exactly_one_request():
    client = FakeClient({"patch": [(200, {"Date": DATE}, configmap())]})
    result = apply_object(client, configmap())
    assert result.changed is False
    assert client.request_count == 1
    assert client.calls[0][2]["dry_run"] is True


def test_change_is_exact_from_resource_versions():
    now = "2026-01-01T00:10:00Z"
    client = FakeClient({
        "patch": [(200, {"Date": DATE}, configmap("2", touched=now)), (200, {"Date": DATE}, configmap("2", rv="6", touched=now))],
        "get": [configmap("1")],
    })
    result = apply_object(client, configmap("2"))
    assert result.changed is True
    assert [c[0] for c in client.calls] == ["patch", "get", "patch"]
    assert client.calls[2][2]["dry_run"] is False
    assert make_diff(result.before, result.after) == {"before": {"data": {"a": "1"}}, "after": {"data": {"a": "2"}}}


def test_recent_noop_is_still_reported_unchanged():
    now = "2026-01-01T00:10:00Z"
    client = FakeClient({
        "patch": [(200, {"Date": DATE}, configmap(touched=now)), (200, {"Date": DATE}, configmap(touched=now))],
        "get": [configmap(touched=now)],
    })
    assert apply_object(client, configmap()).changed is False


def test_check_mode_never_sends_a_real_write():
    now = "2026-01-01T00:10:00Z"
    client = FakeClient({"patch": [(200, {"Date": DATE}, configmap("2", touched=now))], "get": [configmap("1")]})
    result = apply_object(client, configmap("2"), check_mode=True)
    assert result.changed is True
    assert all(c[2].get("dry_run") for c in client.calls if c[0] == "patch")


def test_check_mode_recent_noop_unchanged():
    now = "2026-01-01T00:10:00Z"
    client = FakeClient({"patch": [(200, {"Date": DATE}, configmap(touched=now))], "get": [configmap(touched=now)]})
    assert apply_object(client, configmap(), check_mode=True).changed is False


@pytest.mark.parametrize("check_mode,requests", [(True, 1), (False, 2)])
def test_create(check_mode, requests):
    client = FakeClient({"patch": [(201, {"Date": DATE}, configmap()), (201, {"Date": DATE}, configmap())]})
    result = apply_object(client, configmap(), check_mode=check_mode)
    assert result.changed and result.created
    assert client.request_count == requests


def secret(values):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, "data": values}


def test_secret_values_masked_in_diff_and_result():
    diff = make_diff(secret({"pw": "b2xk", "user": "cm9vdA=="}), secret({"pw": "bmV3", "user": "cm9vdA=="}))
    assert diff == {"before": {"data": {"pw": MASK}}, "after": {"data": {"pw": MASK_CHANGED}}}
    assert result_view(secret({"pw": "b2xk"}))["data"] == {"pw": MASK}
    assert "b2xk" not in repr(make_diff(None, secret({"pw": "b2xk"})))


VCT = [{"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
VCT_BIG = [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "2Gi"}}}}]
LIVE_VCT = [{"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard", "volumeMode": "Filesystem",
                      "resources": {"requests": {"storage": "1024Mi"}}}}]

IMMUTABLE_CASES = [
    ("same templates (server defaults ignored)", {"templates": VCT}, {"templates": LIVE_VCT}, []),
    ("bigger storage", {"templates": VCT_BIG}, {"templates": LIVE_VCT}, ["spec.volumeClaimTemplates"]),
    ("service name", {"name": "db"}, {"name": "db"}, []),
    ("pod management policy", {"policy": "Parallel"}, {"policy": "OrderedReady"}, ["spec.podManagementPolicy"]),
]


@pytest.mark.parametrize("case,desired,live,expected", IMMUTABLE_CASES, ids=[c[0] for c in IMMUTABLE_CASES])
def test_changed_immutable_fields(case, desired, live, expected):
    assert changed_immutable_fields(statefulset(**desired), statefulset(**live)) == expected


def test_selector_and_service_name_changes_are_named():
    desired = statefulset()
    desired["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    desired["spec"]["serviceName"] = "other"
    assert changed_immutable_fields(desired, statefulset()) == ["spec.selector", "spec.serviceName"]


def test_422_on_immutable_field_names_it_and_offers_recreate():
    forbidden = K8sApiError("invalid", status=422, reason="Invalid", body={
        "message": "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields "
                   "other than 'replicas', 'ordinals', 'template', 'updateStrategy' are forbidden",
        "details": {"causes": [{"field": "spec", "message": "Forbidden: updates to statefulset spec"}]}})
    desired = statefulset(policy="Parallel")
    client = FakeClient({"patch": [forbidden], "get": [statefulset()]})
    with pytest.raises(ImmutableFieldError) as caught:
        apply_object(client, desired)
    assert caught.value.fields == ["spec.podManagementPolicy"]
    assert "recreate: orphan" in caught.value.msg
    assert "live 'OrderedReady', wanted 'Parallel'" in caught.value.msg


def test_service_cluster_ip_to_headless_is_immutable():
    invalid = K8sApiError("invalid", status=422, reason="Invalid", body={
        "message": "Service \"db\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"None\"}: may not change "
                   "once set", "details": {"causes": [{"field": "spec.clusterIPs[0]", "message": "field is immutable"}]}})
    desired = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "ns"},
               "spec": {"clusterIP": "None"}}
    live = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "ns"},
            "spec": {"clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"]}}
    client = FakeClient({"patch": [invalid], "get": [live]})
    with pytest.raises(ImmutableFieldError) as caught:
        apply_object(client, desired)
    assert caught.value.fields == ["spec.clusterIP"]


def test_field_manager_conflict_without_force_says_what_to_do():
    conflict = K8sApiError("conflict", status=409, reason="Conflict", body={
        "message": "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas",
        "details": {"causes": [{"field": ".spec.replicas", "message": "conflict with \"kubectl\""}]}})
    client = FakeClient({"patch": [conflict]})
    with pytest.raises(K8sApiError, match="owned by another field manager \\(kubectl\\); set force: true"):
        apply_object(client, statefulset(), force=False)


def test_missing_namespace_message():
    client = FakeClient({"patch": [K8sApiError("nf", status=404, body={"message": "namespaces \"nope\" not found"})]})
    with pytest.raises(K8sApiError, match="namespace 'ns' does not exist"):
        apply_object(client, configmap())


@pytest.mark.parametrize("text,expected", [("1Gi", 2 ** 30), ("1024Mi", 2 ** 30), ("500M", 5 * 10 ** 8),
                                           ("12", 12), ("1.5Gi", int(1.5 * 2 ** 30)), ("lots", None)])
def test_quantity_bytes(text, expected):
    assert quantity_bytes(text) == expected
