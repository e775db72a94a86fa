"""service: the one present / absent / recreate path of the writer modules (fake API, no network)."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import service
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import ApplyResult, ImmutableFieldError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.service import (
    ApplyOptions,
    ensure_absent,
    ensure_present,
)
from k8s_fakes import FakeClient, FakeCluster

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "ns"}, "data": {"a": "1"}}
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "ns"},
       "spec": {"clusterIP": "None", "selector": {"app": "db"}}}
LIVE_SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "ns"},
            "spec": {"clusterIP": "10.96.0.7", "selector": {"app": "db"}}}


def test_options_are_read_once_from_the_params():
    options = ApplyOptions.from_params({"field_manager": "team", "force": True, "recreate": "orphan"})
    assert (options.field_manager, options.force, options.recreate) == ("team", True, "orphan")
    assert ApplyOptions.from_params({"field_manager": "statefuldb", "force": False}).recreate == "never"


@pytest.mark.parametrize("check_mode", [False, True])
def test_present_creates_with_a_diff_then_is_a_no_op(check_mode):
    cluster = FakeCluster()
    outcome = ensure_present(cluster, CM, ApplyOptions(), check_mode)
    assert outcome.changed is True and outcome.diff["after"]["data"] == {"a": "1"} and not outcome.recreated
    assert (("ConfigMap", "ns", "cfg") in cluster.objects) is not check_mode
    if not check_mode:
        again = ensure_present(cluster, CM, ApplyOptions(), False)
        assert again.changed is False and again.diff is None


def immutable_then(applied_after):
    """apply_object that refuses the first time (an immutable field) and then applies."""
    calls = []

    def apply_object(client, obj, field_manager, force, check_mode=False, **_kwargs):
        calls.append(check_mode)
        if len(calls) == 1:
            raise ImmutableFieldError("spec.clusterIP cannot change", ["spec.clusterIP"], LIVE_SVC)
        return ApplyResult(True, None, applied_after)
    return apply_object, calls


def test_an_immutable_change_fails_unless_recreate_orphan(monkeypatch):
    fake, _calls = immutable_then(SVC)
    monkeypatch.setattr(service, "apply_object", fake)
    with pytest.raises(ImmutableFieldError, match="clusterIP"):
        ensure_present(FakeClient(), SVC, ApplyOptions(), False)


def test_recreate_orphan_deletes_and_applies_again(monkeypatch):
    fake, calls = immutable_then(SVC)
    monkeypatch.setattr(service, "apply_object", fake)
    client = FakeClient({"delete": [LIVE_SVC]})
    outcome = ensure_present(client, SVC, ApplyOptions(recreate="orphan"), False)
    assert outcome.changed and outcome.recreated and outcome.after == SVC and outcome.before == LIVE_SVC
    assert outcome.diff["before"]["spec"]["clusterIP"] == "10.96.0.7"
    assert [c[0] for c in client.calls] == ["delete"] and calls == [False, False]


def test_recreate_orphan_in_check_mode_writes_nothing(monkeypatch):
    fake, calls = immutable_then(SVC)
    monkeypatch.setattr(service, "apply_object", fake)
    client = FakeClient()
    outcome = ensure_present(client, SVC, ApplyOptions(recreate="orphan"), True)
    assert outcome.changed and outcome.recreated and outcome.after == LIVE_SVC and outcome.diff is None
    assert client.calls == [] and calls == [True]


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent(check_mode):
    cluster = FakeCluster([CM])
    outcome = ensure_absent(cluster, "v1", "ConfigMap", "cfg", "ns", check_mode)
    assert outcome.changed is True and outcome.diff["after"] == {} and outcome.diff["before"]["data"] == {"a": "1"}
    assert (("ConfigMap", "ns", "cfg") in cluster.objects) is check_mode
    assert [c[0] for c in cluster.calls] == (["get"] if check_mode else ["delete"])


def test_absent_when_already_gone_is_no_change():
    outcome = ensure_absent(FakeCluster(), "v1", "ConfigMap", "cfg", "ns", False)
    assert outcome.changed is False and outcome.diff is None
