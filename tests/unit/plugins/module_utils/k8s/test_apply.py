"""Server-side apply decisions: exact changed, request counts, check mode, diff, masking, immutable fields."""
import copy

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import (
    ImmutableFieldError,
    apply_object,
    changed_immutable_fields,
    owned_view,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.diff import MASK, MASK_CHANGED, make_diff, result_view
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import FakeClient, statefulset

DATE = "Thu, 01 Jan 2026 00:10:00 GMT"
CM_FIELDS = {"f:data": {".": {}, "f:a": {}}}


def configmap(value="1", rv="5", touched="2026-01-01T00:00:00Z", manager="statefuldb", fields=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "ns", "resourceVersion": rv,
                         "managedFields": [{"manager": manager, "operation": "Apply", "apiVersion": "v1",
                                            "time": touched, "fieldsType": "FieldsV1",
                                            "fieldsV1": CM_FIELDS if fields is None else fields}]},
            "data": {"a": value}}


def ops(client):
    return [(c[0], c[2].get("dry_run")) for c in client.calls]


def test_noop_is_two_requests_read_then_apply():
    client = FakeClient({"get": [configmap()], "patch": [(200, {"Date": DATE}, configmap())]})
    result = apply_object(client, configmap())
    assert result.changed is False
    assert ops(client) == [("get", None), ("patch", False)]


def test_change_is_two_requests_and_exact():
    now = "2026-01-01T00:10:00Z"
    client = FakeClient({"get": [configmap("1")], "patch": [(200, {"Date": DATE}, configmap("2", rv="6", touched=now))]})
    result = apply_object(client, configmap("2"))
    assert result.changed is True
    assert ops(client) == [("get", None), ("patch", False)]
    assert make_diff(result.before, result.after) == {"before": {"data": {"a": "1"}}, "after": {"data": {"a": "2"}}}


# Issue 11 item 7: a Date header skewed by a proxy must never turn a change into a skipped no-op.
@pytest.mark.parametrize("date", ["Thu, 01 Jan 2026 00:10:10 GMT", "Thu, 01 Jan 2026 00:09:50 GMT", None])
def test_change_is_applied_whatever_the_date_header_says(date):
    now = "2026-01-01T00:10:00Z"
    changed = configmap("2", rv="6", touched=now)
    headers = {"Date": date} if date else {}
    client = FakeClient({"get": [configmap("1")], "patch": [(200, headers, changed), (200, headers, changed)]})
    result = apply_object(client, configmap("2"))
    assert result.changed is True
    assert ("patch", False) in ops(client), "the change was never sent for real"


@pytest.mark.parametrize("date", ["Thu, 01 Jan 2026 00:10:10 GMT", "Thu, 01 Jan 2026 00:09:50 GMT", None])
def test_noop_stays_noop_whatever_the_date_header_says(date):
    headers = {"Date": date} if date else {}
    client = FakeClient({"get": [configmap()], "patch": [(200, headers, configmap())]})
    assert apply_object(client, configmap()).changed is False


# Issue 11 item 8: a controller's write between our read and our apply is not our change.
def test_someone_elses_write_in_between_is_not_a_change():
    now = "2026-01-01T00:10:00Z"
    before = configmap(touched=now)
    after = configmap(touched=now, rv="9")
    after["metadata"]["annotations"] = {"controller": "was here"}
    after["metadata"]["managedFields"].append({"manager": "ctrl", "operation": "Update", "time": now,
                                               "fieldsV1": {"f:metadata": {"f:annotations": {}}}})
    client = FakeClient({"get": [before], "patch": [(200, {"Date": DATE}, after), (200, {"Date": DATE}, after)]})
    assert apply_object(client, configmap()).changed is False


def test_same_second_change_is_seen_from_the_values():
    now = "2026-01-01T00:10:00Z"
    client = FakeClient({"get": [configmap("1", touched=now)], "patch": [configmap("2", rv="6", touched=now)]})
    assert apply_object(client, configmap("2")).changed is True


def test_taking_ownership_is_a_change():
    client = FakeClient({"get": [configmap(manager="kubectl")],
                         "patch": [configmap(rv="6", touched="2026-01-01T00:10:00Z")]})
    assert apply_object(client, configmap()).changed is True


def test_dropping_a_field_we_owned_is_a_change():
    before = configmap()
    before["data"]["b"] = "x"
    before["metadata"]["managedFields"][0]["fieldsV1"] = {"f:data": {".": {}, "f:a": {}, "f:b": {}}}
    client = FakeClient({"get": [before], "patch": [configmap(rv="6")]})
    assert apply_object(client, configmap()).changed is True


def test_owned_view_reads_list_members_by_key_value_and_index():
    obj = {"spec": {"containers": [{"name": "a", "image": "x:1", "other": 1}, {"name": "b", "image": "y"}],
                    "finalizers": ["f1"], "args": ["p", "q"]}}
    fields = {"f:spec": {"f:containers": {'k:{"name":"a"}': {".": {}, "f:image": {}},
                                          'k:{"name":"zz"}': {"f:image": {}}},
                         "f:finalizers": {'v:"f1"': {}, 'v:"f2"': {}}, "f:args": {"i:1": {}}}}
    assert owned_view(fields, obj) == {"f:spec": {
        "f:containers": {'k:{"name":"a"}': {"f:image": "x:1"}, 'k:{"name":"zz"}': "<absent>"},
        "f:finalizers": {'v:"f1"': "f1", 'v:"f2"': "<absent>"}, "f:args": {"i:1": "q"}}}


def test_server_without_managed_fields_compares_what_the_user_sees():
    bare = configmap()
    bare["metadata"].pop("managedFields")
    status_only = copy.deepcopy(bare)
    status_only["metadata"]["resourceVersion"] = "7"
    client = FakeClient({"get": [bare], "patch": [status_only]})
    assert apply_object(client, configmap()).changed is False


def test_check_mode_never_sends_a_real_write():
    now = "2026-01-01T00:10:00Z"
    client = FakeClient({"get": [configmap("1")], "patch": [(200, {"Date": DATE}, configmap("2", touched=now))]})
    result = apply_object(client, configmap("2"), check_mode=True)
    assert result.changed is True
    assert ops(client) == [("get", None), ("patch", True)]


def test_check_mode_noop_unchanged():
    client = FakeClient({"get": [configmap()], "patch": [(200, {"Date": DATE}, configmap())]})
    assert apply_object(client, configmap(), check_mode=True).changed is False


@pytest.mark.parametrize("check_mode", [True, False])
def test_create(check_mode):
    client = FakeClient({"get": [None], "patch": [(201, {"Date": DATE}, configmap())]})
    result = apply_object(client, configmap(), check_mode=check_mode)
    assert result.changed and result.created
    assert ops(client) == [("get", None), ("patch", check_mode)]


def test_apply_does_not_force_by_default():
    client = FakeClient({"get": [configmap()], "patch": [configmap()]})
    apply_object(client, configmap())
    assert client.calls[1][2]["force"] is False


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
    client = FakeClient({"patch": [forbidden], "get": [statefulset()]})  # the live object is read once
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
    client = FakeClient({"get": [statefulset()], "patch": [conflict]})
    with pytest.raises(K8sApiError) as caught:
        apply_object(client, statefulset())
    assert caught.value.status == 409
    assert ".spec.replicas (owned by kubectl)" in caught.value.msg
    assert "Set force: true" in caught.value.msg and "Nothing was changed" in caught.value.msg


def test_missing_namespace_message():
    client = FakeClient({"get": [None],
                         "patch": [K8sApiError("nf", status=404, body={"message": "namespaces \"nope\" not found"})]})
    with pytest.raises(K8sApiError, match="namespace 'ns' does not exist"):
        apply_object(client, configmap())
