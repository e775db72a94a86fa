"""The progress writer: one JSON line per pod transition, nothing at all when nobody listens (no network)."""
import json
import os

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import progress
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.progress import ProgressWriter, pod_progress_state
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.k8s.k8s_fakes import (
    ScriptedWatchClient,
    listing,
    pod,
    statefulset,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.rollout import RolloutWaiter


def unbound(name):
    p = pod(name, ready=False, phase="Pending", scheduled=False, conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."}])
    p["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-" + name}}]
    return p


@pytest.mark.parametrize("case, obj, expected", [
    ("claim not bound", unbound("db-1"), ("Pending", "claim data-db-1 not bound")),
    ("unschedulable", pod("db-1", ready=False, phase="Pending", scheduled=False, conditions=[
        {"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available: Insufficient cpu."}]),
     ("Pending", "0/3 nodes are available: Insufficient cpu.")),
    ("not scheduled yet", pod("db-1", ready=False, phase="Pending", scheduled=False, conditions=[]),
     ("Pending", "not scheduled yet")),
    ("container waiting", pod("db-1", ready=False, phase="Pending", containers=[
        {"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}]), ("Pending", "ContainerCreating")),
    ("running", pod("db-1", ready=False), ("Running", None)),
    ("ready", pod("db-1"), ("Ready", None)),
    ("terminating", pod("db-1", terminating=True), ("Terminating", None)),
    ("failed", pod("db-1", ready=False, phase="Failed"), ("Failed", None)),
])
def test_pod_progress_state(case, obj, expected):
    assert pod_progress_state(obj) == expected


def read(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def test_one_line_per_transition_with_the_time_spent_in_the_previous_state(tmp_path):
    now = [100.0]
    path = str(tmp_path / "ns.db.1.jsonl")
    writer = ProgressWriter("ns", "db", path=path, clock=lambda: now[0])
    writer.pod("ADDED", unbound("db-1"))
    now[0] = 112.0
    writer.pod("MODIFIED", unbound("db-1"))  # the same state and reason: no line
    writer.pod("MODIFIED", pod("db-1", ready=False, phase="Pending", containers=[
        {"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}]))  # a new reason: a line
    writer.pod("MODIFIED", pod("db-1", ready=False, phase="Pending"))  # the reason went away: no line
    now[0] = 113.0
    writer.pod("MODIFIED", pod("db-1", ready=False))
    now[0] = 116.2
    writer.pod("MODIFIED", pod("db-1"))
    writer.pod("MODIFIED", pod("db-1"))
    now[0] = 120.0
    writer.pod("DELETED", pod("db-1"))
    lines = read(path)
    assert [(r["state"], r.get("why"), r.get("previous"), r.get("after")) for r in lines] == [
        ("Pending", "claim data-db-1 not bound", None, None),
        ("Pending", "ContainerCreating", None, None),
        ("Running", None, "Pending", 13.0),  # Pending since the first line, whatever the reasons
        ("Ready", None, "Running", 3.2),
        ("Deleted", None, "Ready", 3.8),
    ]
    assert {r["sts"] for r in lines} == {"ns/db"} and [r["t"] for r in lines] == [100.0, 112.0, 113.0, 116.2, 120.0]


def test_nobody_listening_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    writer = ProgressWriter("ns", "db")
    writer.pod("ADDED", pod("db-0"))
    assert not writer.enabled
    monkeypatch.setenv(progress.ENV, str(tmp_path / "missing"))  # a remote host: the directory is not there
    assert not ProgressWriter("ns", "db").enabled


def test_listening_directory_gets_one_file_per_wait(tmp_path, monkeypatch):
    monkeypatch.setenv(progress.ENV, str(tmp_path))
    writer = ProgressWriter("ns", "db")
    writer.pod("ADDED", pod("db-0"))
    assert os.listdir(str(tmp_path)) == ["ns.db.%d.jsonl" % os.getpid()]


def test_an_unwritable_file_turns_the_writer_off_instead_of_failing(tmp_path):
    writer = ProgressWriter("ns", "db", path=str(tmp_path / "gone" / "x.jsonl"))
    writer.pod("ADDED", pod("db-0"))
    assert not writer.enabled
    writer.pod("MODIFIED", pod("db-0", ready=False))  # no error, no retry


def test_the_waiter_reports_each_pod_it_sees(tmp_path, monkeypatch):
    monkeypatch.setenv(progress.ENV, str(tmp_path))
    not_ready = statefulset(replicas=2, ready=1, available=1, status_replicas=2)
    client = ScriptedWatchClient(
        lists={"StatefulSet": [listing([not_ready])],
               "Pod": [listing([pod("db-0"), pod("db-1", ready=False)]), listing([pod("db-0"), pod("db-1")])]},
        streams={"StatefulSet": [[{"type": "MODIFIED", "object": statefulset(replicas=2)}]],
                 "Pod": [[{"type": "MODIFIED", "object": pod("db-1")}]]})
    RolloutWaiter(client, "ns", "db", wait_timeout=10, stall_timeout=0).wait()
    lines = read(str(tmp_path / ("ns.db.%d.jsonl" % os.getpid())))
    assert ("db-0", "Ready") in [(r["pod"], r["state"]) for r in lines]
    assert [r["state"] for r in lines if r["pod"] == "db-1"] == ["Running", "Ready"]
