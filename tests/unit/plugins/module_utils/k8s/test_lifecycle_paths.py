"""lifecycle over service.py: options read once, check mode, diff, teardown order, recreate orphan, failures (fake API)."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import lifecycle
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import ImmutableFieldError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError, K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import DefinitionError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.lifecycle import (
    StatefulSetOptions,
    ensure_absent,
    ensure_present,
)
from k8s_fakes import FakeCluster, claim, pod, refuse_policy_changes, statefulset

BASE = {"state": "present", "name": "db", "namespace": "ns", "definition": None, "replicas": 2,
        "image": "mariadb:11", "service_name": None, "pod_management_policy": None, "volume_claim_templates": None,
        "pvc_retention_policy": None, "update_strategy": None, "partition": None, "labels": {"app": "db"},
        "template": None, "recreate": "never", "delete_pvcs": False, "field_manager": "statefuldb",
        "force": False, "wait": False, "wait_timeout": 30, "stall_timeout": 0}
VCT = [{"name": "data", "size": "1Gi"}]


def options(**extra):
    return StatefulSetOptions.from_params(dict(BASE, **extra))


def absent(**extra):
    return options(**dict({"state": "absent", "image": None, "replicas": None, "labels": None}, **extra))


class Result:
    def __init__(self, statefulset=None):
        self.timeline = [{"ordinal": 0, "pod": "db-0"}]
        self.wait_seconds = 1.5
        self.warnings = ["slow"]
        self.watch_resumes = 1
        self.order_problems = ["db-1 before db-0"]
        self.statefulset = statefulset


@pytest.fixture
def waits(monkeypatch):
    """RolloutWaiter replaced: records (until, timeouts) and answers at once."""
    seen = []

    class Waiter:
        def __init__(self, client, namespace, name, wait_timeout, stall_timeout, log=None):
            self.cluster, self.args = client, (namespace, name, wait_timeout, stall_timeout)

        def wait(self, until):
            seen.append((until,) + self.args)
            self.cluster.calls.append(("wait", (until,), {}))
            return Result(self.cluster.objects.get(("StatefulSet", "ns", "db")))
    monkeypatch.setattr(lifecycle, "RolloutWaiter", Waiter)
    return seen


def steps(cluster):
    out = []
    for name, args, kwargs in cluster.calls:
        if name == "patch":
            out.append("apply %s%s" % (kwargs["field_manager"], " dry-run" if kwargs["dry_run"] else ""))
        elif name == "delete":
            out.append("delete %s %s%s" % (args[1], kwargs.get("propagation_policy") or "",
                                           " dry-run" if kwargs.get("dry_run") else ""))
        elif name == "wait":
            out.append("wait " + args[0])
    return out


# -- options ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra,message", [
    ({"delete_pvcs": True}, "delete_pvcs only applies to state: absent"),
    ({"wait_timeout": 0}, "wait_timeout must be a positive number of seconds"),
    ({"state": "absent", "name": "Bad_Name"}, "name"),
    ({"image": None, "template": None}, "image"),
])
def test_bad_options_fail_before_anything_is_sent(extra, message):
    with pytest.raises(DefinitionError, match=message):
        options(**extra)


def test_options_are_read_once():
    task = options(field_manager="team", force=True, recreate="orphan", wait=True, wait_timeout=9, stall_timeout=3)
    assert (task.apply.field_manager, task.apply.force, task.apply.recreate) == ("team", True, "orphan")
    assert (task.wait, task.wait_timeout, task.stall_timeout) == (True, 9, 3)
    assert task.managers == {"team", "team-scale"} and not task.scale_only and task.rebuild is not None
    scale = options(image=None, labels=None)
    assert scale.scale_only and scale.rebuild is None and scale.desired["spec"] == {"replicas": 2}
    gone = absent(labels={"app": "db"}, volume_claim_templates=VCT)
    assert (gone.desired, gone.claim_selector, gone.claim_templates) == (None, {"matchLabels": {"app": "db"}}, ["data"])


# -- present: check mode, diff, waits --------------------------------------------------------------
def test_check_mode_create_writes_nothing_and_shows_the_diff():
    cluster = FakeCluster()
    outcome = ensure_present(cluster, options(), True)
    assert outcome.changed is True and cluster.objects == {}
    assert outcome.diff["before"] == {} and outcome.diff["after"]["spec"]["replicas"] == 2
    assert steps(cluster) == ["apply statefuldb dry-run"]


def test_a_change_has_an_exact_diff_and_a_no_op_has_none(waits):
    cluster = FakeCluster()
    ensure_present(cluster, options(), False)
    changed = ensure_present(cluster, options(replicas=3), False)
    assert changed.changed and changed.diff == {"before": {"spec": {"replicas": 2}}, "after": {"spec": {"replicas": 3}}}
    same = ensure_present(cluster, options(replicas=3), False)
    assert same.changed is False and same.diff == {"before": {}, "after": {}}
    assert waits == []


def test_wait_after_a_change_reports_the_waiters_findings(waits):
    cluster = FakeCluster()
    outcome = ensure_present(cluster, options(wait=True, stall_timeout=7), False)
    assert waits == [("ready", "ns", "db", 30, 7)]
    assert outcome.timeline == [{"ordinal": 0, "pod": "db-0"}] and outcome.wait_seconds == 1.5
    assert outcome.warnings == ["slow", "OrderedReady order not kept: db-1 before db-0"]
    assert outcome.watch_resumes == 1 and outcome.as_dict()["statefulset"]["metadata"]["name"] == "db"


def test_an_untouched_ready_statefulset_is_not_watched(waits):
    cluster = FakeCluster()
    ensure_present(cluster, options(), False)
    live = cluster.objects[("StatefulSet", "ns", "db")]
    live["metadata"]["generation"] = 1
    live["status"] = statefulset(replicas=2)["status"]
    cluster.add(dict(pod("db-0"), kind="Pod", metadata=dict(pod("db-0")["metadata"], namespace="ns",
                                                            labels={"app": "db"})))
    outcome = ensure_present(cluster, options(wait=True), False)
    assert outcome.changed is False and waits == []
    assert [entry["pod"] for entry in outcome.timeline] == ["db-0"]


def test_replicas_alone_cannot_create():
    cluster = FakeCluster()

    def refuse(*args, **kwargs):
        raise K8sApiError("invalid", status=422, reason="Invalid", body={"message": "spec.selector: Required value"})
    cluster.patch = refuse
    with pytest.raises(K8sError, match="replicas alone cannot create it"):
        ensure_present(cluster, options(image=None, labels=None), False)


def refuse_template_changes(cluster):
    """The API server's refusal of a volumeClaimTemplates change on an existing StatefulSet."""
    def patch(*args, **kwargs):
        live = cluster.objects.get(("StatefulSet", "ns", "db"))
        if live and args[1] == "StatefulSet" and \
                args[4]["spec"].get("volumeClaimTemplates") != live["spec"].get("volumeClaimTemplates"):
            raise K8sApiError("invalid", status=422, reason="Invalid", body={
                "message": "spec: Forbidden: updates to statefulset spec for fields other than 'replicas'"})
        return FakeCluster.patch(cluster, *args, **kwargs)
    cluster.patch = patch


def test_an_immutable_change_names_the_storage_growth_recreate_would_do():
    cluster = FakeCluster()
    ensure_present(cluster, options(volume_claim_templates=VCT), False)
    refuse_template_changes(cluster)
    with pytest.raises(ImmutableFieldError) as caught:
        ensure_present(cluster, options(volume_claim_templates=[{"name": "data", "size": "2Gi"}]), False)
    assert "spec.volumeClaimTemplates" in caught.value.msg
    assert "The only template change is a larger storage request (data 1Gi -> 2Gi)" in caught.value.msg


# -- recreate orphan ----------------------------------------------------------------------------------
@pytest.mark.parametrize("check_mode", [False, True])
def test_recreate_orphan_order_and_check_mode(waits, check_mode):
    cluster = FakeCluster()
    ensure_present(cluster, options(), False)
    refuse_policy_changes(cluster)
    cluster.calls.clear()
    outcome = ensure_present(cluster, options(pod_management_policy="Parallel", recreate="orphan", wait=True),
                             check_mode)
    assert outcome.changed and outcome.recreated
    assert outcome.diff["after"]["spec"]["podManagementPolicy"] == "Parallel"
    live = cluster.objects[("StatefulSet", "ns", "db")]
    if check_mode:
        assert steps(cluster) == ["delete StatefulSet Orphan dry-run"]  # (the refused apply is not recorded)
        assert live["spec"].get("podManagementPolicy") is None
    else:
        assert steps(cluster) == ["delete StatefulSet Orphan", "wait gone", "apply statefuldb", "wait ready"]
        assert live["spec"]["podManagementPolicy"] == "Parallel"


def test_recreate_orphan_expands_claims_first_and_fails_before_deleting_when_a_class_forbids_it(waits):
    cluster = FakeCluster([{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fixed"},
                            "allowVolumeExpansion": False}])
    ensure_present(cluster, options(volume_claim_templates=[dict(VCT[0], storage_class="fixed")]), False)
    sized = claim("data-db-0", {"app": "db"})
    sized["spec"]["storageClassName"] = "fixed"
    cluster.add(sized)
    live = cluster.objects[("StatefulSet", "ns", "db")]
    refuse_template_changes(cluster)
    bigger = options(volume_claim_templates=[dict(VCT[0], size="2Gi", storage_class="fixed")], recreate="orphan")
    with pytest.raises(K8sError, match="does not allow volume expansion"):
        ensure_present(cluster, bigger, False)
    assert cluster.objects[("StatefulSet", "ns", "db")] == live  # nothing deleted
    assert not [c for c in cluster.calls if c[0] == "delete"]


# -- absent: teardown order, delete_pvcs --------------------------------------------------------------
def running(cluster_claims=("data-db-0", "data-db-1")):
    return FakeCluster([statefulset(replicas=2, templates=[{"metadata": {"name": "data"}}])] +
                       [claim(name, {"app": "db"}) for name in cluster_claims])


@pytest.mark.parametrize("delete_pvcs", [False, True])
def test_teardown_scales_to_zero_then_deletes_and_keeps_or_deletes_the_claims(waits, delete_pvcs):
    cluster = running()
    outcome = ensure_absent(cluster, absent(wait=True, delete_pvcs=delete_pvcs), False)
    assert outcome.changed is True and outcome.statefulset == {}
    assert outcome.diff["after"] == {} and outcome.diff["before"]["spec"]["replicas"] == 2
    assert steps(cluster)[:4] == ["apply statefuldb-scale", "wait deleted-pods", "delete StatefulSet Background",
                                  "wait deleted" if delete_pvcs else "wait gone"]
    forced = [c[2]["force"] for c in cluster.calls if c[0] == "patch"]
    assert forced == [True]
    claims = sorted(n for (k, _ns, n) in cluster.objects if k == "PersistentVolumeClaim")
    if delete_pvcs:
        assert (outcome.pvcs_deleted, outcome.pvcs_kept, claims) == (["data-db-0", "data-db-1"], [], [])
    else:
        assert (outcome.pvcs_kept, outcome.pvcs_deleted) == (["data-db-0", "data-db-1"], [])
        assert claims == ["data-db-0", "data-db-1"]


@pytest.mark.parametrize("delete_pvcs", [False, True])
def test_teardown_in_check_mode_writes_nothing(waits, delete_pvcs):
    cluster = running()
    outcome = ensure_absent(cluster, absent(wait=True, delete_pvcs=delete_pvcs), True)
    assert outcome.changed is True and steps(cluster) == ["delete StatefulSet  dry-run"]
    assert len(cluster.objects) == 3
    expected = ["data-db-0", "data-db-1"]
    assert (outcome.pvcs_deleted, outcome.pvcs_kept) == ((expected, []) if delete_pvcs else ([], expected))


def test_teardown_without_wait_deletes_at_once(waits):
    cluster = running(())
    outcome = ensure_absent(cluster, absent(), False)
    assert steps(cluster) == ["delete StatefulSet Background"] and outcome.changed is True


def test_absent_when_nothing_is_left_is_no_change(waits):
    outcome = ensure_absent(FakeCluster(), absent(wait=True, delete_pvcs=True), False)
    assert (outcome.changed, outcome.pvcs_kept, outcome.pvcs_deleted) == (False, [], [])


def test_recreate_orphan_grows_the_claims_before_the_statefulset_is_deleted(waits):
    cluster = FakeCluster([{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "grow"},
                            "allowVolumeExpansion": True}])
    ensure_present(cluster, options(volume_claim_templates=[dict(VCT[0], storage_class="grow")]), False)
    sized = claim("data-db-0", {"app": "db"})
    sized["spec"]["storageClassName"] = "grow"
    cluster.add(sized)
    refuse_template_changes(cluster)
    cluster.calls.clear()
    outcome = ensure_present(cluster, options(volume_claim_templates=[dict(VCT[0], size="2Gi", storage_class="grow")],
                                              recreate="orphan"), False)
    assert outcome.pvcs_expanded == [{"name": "data-db-0", "storage": "2Gi"}] and outcome.recreated
    assert cluster.objects[("PersistentVolumeClaim", "ns", "data-db-0")]["spec"]["resources"]["requests"] == \
        {"storage": "2Gi"}
    order = [(c[0], c[1][1]) for c in cluster.calls if c[0] in ("patch", "delete")]
    assert order == [("patch", "PersistentVolumeClaim"), ("delete", "StatefulSet"), ("patch", "StatefulSet")]
