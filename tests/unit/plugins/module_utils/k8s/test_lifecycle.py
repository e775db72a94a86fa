"""StatefulSet lifecycle over an in-memory API: claims after teardown, retention policies, the selector, force."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import ImmutableFieldError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import (
    absent_claim_hints,
    build_statefulset,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.lifecycle import (
    StatefulSetOptions,
    ensure_absent,
    ensure_present,
)
from k8s_fakes import FakeCluster, claim, refuse_policy_changes, statefulset

VCT = [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]


def params(**extra):
    base = {"state": "present", "name": "db", "namespace": "ns", "definition": None, "replicas": None,
            "image": None, "service_name": None, "pod_management_policy": None, "volume_claim_templates": None,
            "pvc_retention_policy": None, "update_strategy": None, "partition": None, "labels": None,
            "template": None, "recreate": "never", "delete_pvcs": False, "field_manager": "statefuldb",
            "force": False, "wait": False, "wait_timeout": 5, "stall_timeout": 0}
    base.update(extra)
    return base


def options(task):
    return StatefulSetOptions.from_params(task)


def names(cluster, kind):
    return sorted(n for (k, _ns, n) in cluster.objects if k == kind)


def gc_claims_of(sts_name):
    """The garbage collector under whenDeleted: Delete: claims owned by the StatefulSet go with it."""
    def hook(cluster, obj):
        if obj["kind"] == "StatefulSet" and obj["metadata"]["name"] == sts_name:
            for (kind, ns, name) in list(cluster.objects):
                if kind == "PersistentVolumeClaim" and name.endswith(tuple("-%s-%d" % (sts_name, i) for i in range(9))):
                    cluster.remove(kind, ns, name)
    return hook


# -- item 3: delete_data after a teardown that kept the data -------------------------------------
def kept_data_cluster():
    other = statefulset("x-db", templates=VCT)
    return FakeCluster([
        claim("data-db-0", {"app": "db"}), claim("data-db-1", {"app": "db"}),
        other, claim("data-x-db-0", {"app": "x-db"}),  # "data-x" + "-db-0" by name, but x-db still uses it
        claim("data-other-0", {"app": "other"}),
    ])


@pytest.mark.parametrize("wait", [True, False])
def test_delete_pvcs_after_the_statefulset_is_gone_deletes_its_claims(wait):
    cluster = kept_data_cluster()
    outcome = ensure_absent(cluster, options(params(state="absent", delete_pvcs=True, wait=wait)), False)
    assert outcome.changed is True
    assert outcome.pvcs_deleted == ["data-db-0", "data-db-1"]
    assert outcome.pvcs_kept == []
    assert names(cluster, "PersistentVolumeClaim") == ["data-other-0", "data-x-db-0"]


def test_gone_statefulset_claims_are_narrowed_by_the_selector_and_templates():
    cluster = kept_data_cluster()
    cluster.add(claim("data-db-2", {"app": "someone-else"}))
    cluster.add(claim("logs-db-0", {"app": "db"}))
    task = params(state="absent", delete_pvcs=True, labels={"app": "db"},
                  volume_claim_templates=[{"name": "data", "size": "1Gi"}])
    outcome = ensure_absent(cluster, options(task), False)
    assert outcome.pvcs_deleted == ["data-db-0", "data-db-1"]
    assert names(cluster, "PersistentVolumeClaim") == ["data-db-2", "data-other-0", "data-x-db-0", "logs-db-0"]


def test_gone_statefulset_without_delete_pvcs_reports_kept_claims_and_changes_nothing():
    cluster = kept_data_cluster()
    outcome = ensure_absent(cluster, options(params(state="absent")), False)
    assert (outcome.changed, outcome.pvcs_kept, outcome.pvcs_deleted) == (False, ["data-db-0", "data-db-1"], [])
    assert not [c for c in cluster.calls if c[0] == "delete"]


def test_gone_statefulset_check_mode_predicts_and_writes_nothing():
    cluster = kept_data_cluster()
    outcome = ensure_absent(cluster, options(params(state="absent", delete_pvcs=True)), True)
    assert (outcome.changed, outcome.pvcs_deleted) == (True, ["data-db-0", "data-db-1"])
    assert len(names(cluster, "PersistentVolumeClaim")) == 4


def test_absent_claim_hints_from_options():
    assert absent_claim_hints(params(labels={"app": "db"}, volume_claim_templates=[{"name": "data"}])) == (
        {"matchLabels": {"app": "db"}}, ["data"])
    definition = statefulset(templates=VCT)
    assert absent_claim_hints(params(definition=definition)) == ({"matchLabels": {"app": "db"}}, ["data"])
    assert absent_claim_hints(params()) == (None, None)


# -- item 4: what the retention policy did --------------------------------------------------------
def with_policy(sts, when_deleted="Retain", when_scaled="Retain"):
    sts["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": when_deleted, "whenScaled": when_scaled}
    return sts


def test_when_deleted_delete_is_reported_not_hidden():
    sts = with_policy(statefulset(replicas=0, templates=VCT), when_deleted="Delete")
    cluster = FakeCluster([sts, claim("data-db-0", {"app": "db"}), claim("data-db-1", {"app": "db"})])
    cluster.on_delete.append(gc_claims_of("db"))
    outcome = ensure_absent(cluster, options(params(state="absent", wait=True)), False)
    assert outcome.pvcs_kept == []
    assert outcome.pvcs_deleted == ["data-db-0", "data-db-1"]
    assert any("whenDeleted is Delete" in w for w in outcome.warnings)


def test_when_deleted_delete_that_the_cluster_did_not_do_reports_the_claims_kept():
    sts = with_policy(statefulset(replicas=0, templates=VCT), when_deleted="Delete")
    cluster = FakeCluster([sts, claim("data-db-0", {"app": "db"})])  # no garbage collector: claims stay
    outcome = ensure_absent(cluster, options(params(state="absent", wait=True, wait_timeout=1)), False)
    assert outcome.pvcs_kept == ["data-db-0"] and outcome.pvcs_deleted == []
    assert any("still exist" in w for w in outcome.warnings)


def test_retained_claims_are_kept_on_teardown():
    cluster = FakeCluster([statefulset(replicas=0, templates=VCT), claim("data-db-0", {"app": "db"})])
    outcome = ensure_absent(cluster, options(params(state="absent", wait=True)), False)
    assert (outcome.pvcs_kept, outcome.pvcs_deleted, outcome.warnings) == (["data-db-0"], [], [])


@pytest.mark.parametrize("check_mode", [False, True])
def test_scale_in_under_when_scaled_delete_does_not_claim_they_are_kept(check_mode):
    sts = with_policy(statefulset(replicas=3, templates=VCT), when_scaled="Delete")
    cluster = FakeCluster([sts] + [claim("data-db-%d" % i, {"app": "db"}) for i in range(3)])
    outcome = ensure_present(cluster, options(params(replicas=1)), check_mode)
    assert outcome.pvcs_kept == []
    assert outcome.pvcs_deleted == ["data-db-1", "data-db-2"]
    assert any("whenScaled is Delete" in w for w in outcome.warnings)


def test_scale_in_retained_keeps_and_reports():
    cluster = FakeCluster([statefulset(replicas=3, templates=VCT)] +
                          [claim("data-db-%d" % i, {"app": "db"}) for i in range(3)])
    outcome = ensure_present(cluster, options(params(replicas=1)), False)
    assert (outcome.pvcs_kept, outcome.pvcs_deleted, outcome.warnings) == (["data-db-1", "data-db-2"], [], [])


# -- item 5: the selector comes from the live object once it exists -------------------------------
def live_from_options(labels):
    cluster = FakeCluster()
    first = params(image="mariadb:11", labels=labels, replicas=1)
    ensure_present(cluster, options(first), False)
    return cluster


def test_adding_a_label_keeps_the_live_selector():
    cluster = live_from_options({"app": "db"})
    again = params(image="mariadb:11", labels={"app": "db", "team": "data"}, replicas=1)
    outcome = ensure_present(cluster, options(again), False)
    live = cluster.objects[("StatefulSet", "ns", "db")]
    assert live["spec"]["selector"] == {"matchLabels": {"app": "db"}}
    assert live["metadata"]["labels"] == {"app": "db", "team": "data"}
    assert live["spec"]["template"]["metadata"]["labels"] == {"app": "db"}  # pods are not restarted for it
    assert outcome.changed is True


def test_unchanged_labels_are_a_noop_in_two_requests():
    cluster = live_from_options({"app": "db"})
    again = params(image="mariadb:11", labels={"app": "db"}, replicas=1)
    before = cluster.request_count
    outcome = ensure_present(cluster, options(again), False)
    assert outcome.changed is False
    assert cluster.request_count - before == 2  # the read is shared with the apply


def test_recreate_orphan_keeps_the_selector_the_orphaned_pods_carry():
    cluster = live_from_options({"app": "db"})
    again = params(image="mariadb:11", labels={"app": "db", "team": "data"}, replicas=1,
                   pod_management_policy="Parallel", recreate="orphan")

    refuse_policy_changes(cluster)
    outcome = ensure_present(cluster, options(again), False)
    assert outcome.recreated is True
    assert cluster.objects[("StatefulSet", "ns", "db")]["spec"]["selector"] == {"matchLabels": {"app": "db"}}


def test_explicit_definition_selector_is_not_replaced():
    cluster = live_from_options({"app": "db"})
    definition = build_statefulset(params(image="mariadb:11", labels={"app": "other"}))
    with pytest.raises(ImmutableFieldError) as caught:
        ensure_present(cluster, options(params(definition=definition)), False)
    assert "spec.selector" in caught.value.msg and "recreate: orphan" in caught.value.msg


# -- item 6: no force by default; a conflict names the field and the other manager ---------------
def test_conflict_with_an_autoscaler_fails_naming_it_unless_forced():
    cluster = live_from_options({"app": "db"})
    live = cluster.objects[("StatefulSet", "ns", "db")]
    live["metadata"]["managedFields"].append({"manager": "hpa-controller", "operation": "Apply",
                                              "time": "2026-01-01T00:00:00Z",
                                              "fieldsV1": {"f:spec": {"f:replicas": {}}}})
    again = params(image="mariadb:11", labels={"app": "db"}, replicas=3)
    with pytest.raises(K8sApiError) as caught:
        ensure_present(cluster, options(again), False)
    assert caught.value.status == 409
    assert ".spec.replicas (owned by hpa-controller)" in caught.value.msg and "force: true" in caught.value.msg
    assert cluster.objects[("StatefulSet", "ns", "db")]["spec"]["replicas"] == 1
    forced = dict(again, force=True)
    assert ensure_present(cluster, options(forced), False).changed is True
    assert cluster.objects[("StatefulSet", "ns", "db")]["spec"]["replicas"] == 3


def test_our_own_replicas_only_manager_is_not_a_conflict():
    cluster = live_from_options({"app": "db"})
    scale = params(replicas=3)
    assert ensure_present(cluster, options(scale), False).changed is True
    again = params(image="mariadb:11", labels={"app": "db"}, replicas=2)
    assert ensure_present(cluster, options(again), False).changed is True
    assert cluster.objects[("StatefulSet", "ns", "db")]["spec"]["replicas"] == 2
    forced = [c[2]["force"] for c in cluster.calls if c[0] == "patch"]
    assert forced[-4:] == [False, True, False, True]  # each retried with force only for our own manager


def test_force_defaults_to_false_in_every_applying_module():
    from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.common import APPLY_ARG_SPEC
    assert APPLY_ARG_SPEC["force"]["default"] is False


# -- replicas back and forth between our two field managers: changed only when the count changes ------
def test_replicas_back_and_forth_is_changed_only_when_the_count_changes():
    cluster = live_from_options({"app": "db"})  # the full apply owns replicas: 1
    full = params(image="mariadb:11", labels={"app": "db"}, replicas=1)
    steps = [(params(replicas=1), False),  # the replicas-only manager takes a share of the same value
             (params(replicas=3), True), (params(replicas=3), False), (params(replicas=1), True),
             (full, False),  # the full apply takes replicas back from our replicas-only manager: same value
             (full, False), (params(replicas=1), False)]
    seen = []
    for task, _expected in steps:
        outcome = ensure_present(cluster, options(task), False)
        seen.append(outcome.changed)
        assert cluster.objects[("StatefulSet", "ns", "db")]["spec"]["replicas"] == task["replicas"]
        if not outcome.changed:
            assert outcome.diff == {"before": {}, "after": {}}
    assert seen == [expected for _task, expected in steps]


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_replicas_only_handover_is_no_change_in_check_mode_either(check_mode):
    cluster = live_from_options({"app": "db"})
    assert ensure_present(cluster, options(params(replicas=1)), check_mode).changed is False
