"""statefuldb.k8s.statefulset against the local control plane: every change four times, real state checked."""
import json

from k8s_helpers import only_result, pod_names, pvc_uids, sts_task


def with_base(**overrides):
    """BASE with some options replaced."""
    options = dict(BASE)
    options.update(overrides)
    return options


BASE = {"image": "registry.example/mariadb:11.4", "replicas": 3, "wait_timeout": 180,
        "volume_claim_templates": [{"name": "data", "size": "1Gi", "mount_path": "/var/lib/mysql"}]}


def four_times(playbook, tasks, check_real_state=None, **kwargs):
    """check, real, idempotent check, idempotent real -> list of results; asserts changed T,T,F,F."""
    outcomes = []
    for check in (True, False, True, False):
        run = playbook(tasks, check=check, **kwargs)
        result = only_result(run)
        assert run.rc == 0, result.get("msg")
        outcomes.append(result)
        if check_real_state is not None and len(outcomes) == 1:
            check_real_state("after check")
    assert [o["changed"] for o in outcomes] == [True, True, False, False]
    return outcomes


def test_create_scale_in_and_out_keeps_pvcs(playbook, namespace, apps, core):
    def nothing_yet(_when):
        assert apps.list_namespaced_stateful_set(namespace).items == []

    created = four_times(playbook, [sts_task(namespace, **BASE)], check_real_state=nothing_yet)
    real = created[1]
    sts = apps.read_namespaced_stateful_set("db", namespace)
    assert sts.status.ready_replicas == 3 and sts.spec.replicas == 3
    assert pod_names(core, namespace) == ["db-0", "db-1", "db-2"]
    assert [row["ordinal"] for row in real["timeline"]] == [0, 1, 2]
    assert all(row["created"] and row["scheduled"] and row["ready"] for row in real["timeline"])
    # OrderedReady: each ordinal Ready before the next was created
    for prev, nxt in zip(real["timeline"], real["timeline"][1:]):
        assert prev["ready"] <= nxt["created"]
    # idempotent real without wait costs two requests (read, apply)
    noop = only_result(playbook([sts_task(namespace, wait=False, **BASE)]))
    assert noop["changed"] is False and noop["api_requests"] == 2
    uids = pvc_uids(core, namespace)
    assert sorted(uids) == ["data-db-0", "data-db-1", "data-db-2"]
    pod_uid_0 = core.read_namespaced_pod("db-0", namespace).metadata.uid

    scaled_in = four_times(playbook, [sts_task(namespace, replicas=1, wait_timeout=120)])
    assert scaled_in[0]["pvcs_kept"] == ["data-db-1", "data-db-2"]  # check mode predicts it
    assert scaled_in[1]["pvcs_kept"] == ["data-db-1", "data-db-2"]
    assert pod_names(core, namespace) == ["db-0"]
    assert apps.read_namespaced_stateful_set("db", namespace).status.replicas == 1
    assert pvc_uids(core, namespace) == uids  # nothing deleted
    assert core.read_namespaced_pod("db-0", namespace).metadata.uid == pod_uid_0  # only a replicas change

    four_times(playbook, [sts_task(namespace, replicas=3, wait_timeout=120)])
    assert pod_names(core, namespace) == ["db-0", "db-1", "db-2"]
    assert pvc_uids(core, namespace) == uids  # the same claims re-attached
    for ordinal in (1, 2):
        volumes = core.read_namespaced_pod("db-%d" % ordinal, namespace).spec.volumes
        assert [v.persistent_volume_claim.claim_name for v in volumes if v.persistent_volume_claim] == \
            ["data-db-%d" % ordinal]


def test_update_with_partition_and_diff(playbook, namespace, apps, core):
    assert playbook([sts_task(namespace, **BASE)]).rc == 0
    changed = with_base(image="registry.example/mariadb:11.8", partition=2)
    outcomes = four_times(playbook, [sts_task(namespace, **changed)], diff=True)
    diff = outcomes[1]["diff"]
    assert "11.8" in json.dumps(diff["after"]) and "11.4" in json.dumps(diff["before"])
    assert "volumeClaimTemplates" not in json.dumps(diff)  # only what changed is shown
    assert outcomes[2].get("diff") in (None, {"before": {}, "after": {}})
    images = {p.metadata.name: p.spec.containers[0].image for p in core.list_namespaced_pod(namespace).items}
    # partition 2: only ordinal 2 moved to the new revision
    assert images == {"db-0": "registry.example/mariadb:11.4", "db-1": "registry.example/mariadb:11.4",
                      "db-2": "registry.example/mariadb:11.8"}
    sts = apps.read_namespaced_stateful_set("db", namespace)
    assert sts.status.updated_replicas == 1 and sts.status.current_revision != sts.status.update_revision


def test_immutable_field_error_then_recreate_orphan(playbook, namespace, apps, core):
    assert playbook([sts_task(namespace, **BASE)]).rc == 0
    sts_uid = apps.read_namespaced_stateful_set("db", namespace).metadata.uid
    pods_before = {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(namespace).items}
    claims_before = pvc_uids(core, namespace)

    parallel = with_base(pod_management_policy="Parallel")
    run = playbook([sts_task(namespace, **parallel)])
    failed = only_result(run)
    assert run.rc != 0 and failed["failed"]
    assert "spec.podManagementPolicy" in failed["msg"] and "recreate: orphan" in failed["msg"]
    assert "Traceback" not in run.stdout
    assert apps.read_namespaced_stateful_set("db", namespace).spec.pod_management_policy == "OrderedReady"

    recreated = four_times(playbook, [sts_task(namespace, recreate="orphan", **parallel)])
    assert recreated[1]["recreated"] is True
    sts = apps.read_namespaced_stateful_set("db", namespace)
    assert sts.metadata.uid != sts_uid and sts.spec.pod_management_policy == "Parallel"
    assert {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(namespace).items} == pods_before
    assert pvc_uids(core, namespace) == claims_before


def test_larger_storage_expands_claims_with_recreate(playbook, namespace, core, apps):
    assert playbook([sts_task(namespace, **with_base(replicas=2))]).rc == 0
    bigger = with_base(replicas=2, volume_claim_templates=[{"name": "data", "size": "2Gi",
                                                            "mount_path": "/var/lib/mysql"}])
    refused = only_result(playbook([sts_task(namespace, **bigger)]))
    assert "spec.volumeClaimTemplates" in refused["msg"] and "larger storage request" in refused["msg"]
    outcomes = four_times(playbook, [sts_task(namespace, recreate="orphan", **bigger)])
    assert sorted(p["name"] for p in outcomes[1]["pvcs_expanded"]) == ["data-db-0", "data-db-1"]
    for claim in core.list_namespaced_persistent_volume_claim(namespace).items:
        assert claim.spec.resources.requests["storage"] == "2Gi"
    template = apps.read_namespaced_stateful_set("db", namespace).spec.volume_claim_templates[0]
    assert template.spec.resources.requests["storage"] == "2Gi"


def test_absent_keeps_pvcs_then_delete_pvcs(playbook, namespace, apps, core):
    assert playbook([sts_task(namespace, **BASE)]).rc == 0
    claims = pvc_uids(core, namespace)
    outcomes = four_times(playbook, [sts_task(namespace, state="absent")])
    assert outcomes[0]["pvcs_kept"] == sorted(claims)
    assert outcomes[1]["pvcs_kept"] == sorted(claims)
    assert apps.list_namespaced_stateful_set(namespace).items == []
    assert pod_names(core, namespace) == []
    assert pvc_uids(core, namespace) == claims

    assert playbook([sts_task(namespace, **BASE)]).rc == 0
    assert pvc_uids(core, namespace) == claims  # re-created StatefulSet adopts the kept claims
    deleted = only_result(playbook([sts_task(namespace, state="absent", delete_pvcs=True)]))
    assert deleted["pvcs_deleted"] == sorted(claims)
    remaining = [c for c in core.list_namespaced_persistent_volume_claim(namespace).items
                 if not c.metadata.deletion_timestamp]
    assert remaining == []


def test_stall_names_the_stuck_ordinal_and_why(playbook, namespace, apps):
    broken = with_base(replicas=2, wait_timeout=60, stall_timeout=6,
                       volume_claim_templates=[{"name": "data", "size": "1Gi", "storage_class": "does-not-exist"}])
    run = playbook([sts_task(namespace, **broken)])
    result = only_result(run)
    assert run.rc != 0
    assert "stuck at ordinal 0" in result["msg"]
    assert "StorageClass 'does-not-exist' does not exist" in result["msg"]
    assert result["stuck_ordinal"] == 0
    assert "Traceback" not in run.stdout


BAD = [
    ({"name": "Bad_Name", "image": "x"}, "name: 'Bad_Name' is not a valid DNS-1123 label"),
    ({"name": "db", "image": "x", "replicas": -2}, "replicas must be 0 or more"),
    ({"name": "db", "definition": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"}}},
     "definition.kind must be StatefulSet"),
]


def test_bad_input_is_rejected_before_anything_is_written(playbook, namespace, apps, kubeconfig):
    for options, fragment in BAD:
        task = sts_task(namespace, **options)
        run = playbook([task])
        result = only_result(run)
        assert run.rc != 0 and fragment in result["msg"], result.get("msg")
        assert "Traceback" not in run.stdout + run.stderr
    missing_ns = {"name": "statefulset", "statefuldb.k8s.statefulset": {"name": "db", "image": "x"}}
    result = only_result(playbook([missing_ns]))
    assert "namespace is required" in result["msg"]
    unreachable = only_result(playbook([sts_task(namespace, host="https://127.0.0.1:1", api_key="not-a-real-token", **BASE)],
                                       env={"K8S_AUTH_KUBECONFIG": ""}))
    assert "cannot reach the Kubernetes API server at https://127.0.0.1:1" in unreachable["msg"]
    wrong_context = only_result(playbook([sts_task(namespace, context="no-such-context", **BASE)]))
    assert "context: 'no-such-context' is not in kubeconfig" in wrong_context["msg"]
    assert "available contexts" in wrong_context["msg"]
    assert apps.list_namespaced_stateful_set(namespace).items == []


def test_replicas_back_and_forth_is_changed_only_when_the_count_changes(playbook, namespace, apps):
    """The replicas-only apply (field manager statefuldb-scale) and the full apply hand replicas to each other."""
    full = with_base(wait=False)
    assert only_result(playbook([sts_task(namespace, **full)]))["changed"] is True
    steps = [({"replicas": 3}, False),   # the replicas-only manager takes a share of the same value
             ({"replicas": 2}, True), ({"replicas": 2}, False),
             (with_base(wait=False, replicas=2), False),  # the full apply takes replicas back, same value
             (with_base(wait=False, replicas=2), False), ({"replicas": 2}, False)]
    seen = []
    for options, _expected in steps:
        result = only_result(playbook([sts_task(namespace, **dict({"wait": False}, **options))]))
        assert "msg" not in result or not result.get("failed"), result.get("msg")
        seen.append(result["changed"])
        assert apps.read_namespaced_stateful_set("db", namespace).spec.replicas == options["replicas"]
    assert seen == [expected for _options, expected in steps]
