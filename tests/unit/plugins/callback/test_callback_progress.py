"""The progress callback: following the modules' files and showing their lines (no cluster, no playbook)."""
import json
import os
import time

from ansible_collections.statefuldb.k8s.plugins.callback import progress as callback
from ansible_collections.statefuldb.k8s.plugins.callback.progress import CallbackModule, Follower, render
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import progress as writer


def record(t, pod, state, **extra):
    return dict(t=t, sts="ns/db", pod=pod, state=state, **extra)


def append(path, *records, tail=""):
    with open(path, "a") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in records) + tail)


def test_the_callback_and_the_writer_agree_on_the_variable():
    assert callback.ENV == writer.ENV


def test_follower_reads_only_new_complete_lines_of_every_file_in_time_order(tmp_path):
    a, b = str(tmp_path / "a.db.1.jsonl"), str(tmp_path / "b.db.2.jsonl")
    follower = Follower(str(tmp_path))
    assert follower.poll() == []
    append(a, record(2.0, "db-0", "Running"))
    append(b, record(1.0, "db-0", "Pending"), tail='{"t": 3.0, "pod": "db-1", "sta')  # half-written
    (tmp_path / "ignored.tmp").write_text("not a progress file\n")
    assert [(r["t"], r["state"]) for r in follower.poll()] == [(1.0, "Pending"), (2.0, "Running")]
    assert follower.poll() == []  # nothing new, nothing repeated
    with open(b, "a") as handle:
        handle.write('te": "Ready"}\n')  # the writer finishes the line
    assert [(r["pod"], r["state"]) for r in follower.poll()] == [("db-1", "Ready")]
    append(a, tail="not json\n")
    append(a, record(4.0, "db-2", "Pending"))
    assert [r["pod"] for r in follower.poll()] == ["db-2"]  # a broken line is skipped, not fatal


def test_follower_of_a_removed_directory_is_quiet(tmp_path):
    assert Follower(str(tmp_path / "gone")).poll() == []


def test_render_one_line_per_transition():
    stamp = time.mktime((2026, 1, 1, 12, 0, 3, 0, 0, -1)) + 0.45
    assert render(record(stamp, "mysql-1", "Pending", why="claim data-mysql-1 not bound")) == \
        "12:00:03.4 ns/mysql-1 Pending: claim data-mysql-1 not bound"
    assert render(record(stamp, "mysql-1", "Running", previous="Pending", after=12.0)) == \
        "12:00:03.4 ns/mysql-1 Pending → Running (12.0 s)"
    assert render(record(stamp, "mysql-1", "Ready", previous="Running", after=3.2)) == \
        "12:00:03.4 ns/mysql-1 Running → Ready (3.2 s)"


class FakeDisplay:
    verbosity = 0

    def __init__(self):
        self.lines = []

    def display(self, msg, **kwargs):
        self.lines.append((time.time(), msg))


def test_callback_exports_the_directory_follows_it_while_waiting_and_cleans_up(monkeypatch):
    monkeypatch.delenv(writer.ENV, raising=False)
    shown = FakeDisplay()
    cb = CallbackModule(display=shown)
    monkeypatch.setattr(cb, "get_option", lambda name: {"interval": 0.05}[name])
    cb.v2_playbook_on_start(None)
    try:
        directory = os.environ[writer.ENV]
        assert os.path.isdir(directory)
        # What a module on the controller does while it waits:
        w = writer.ProgressWriter("ns", "db")
        w.pod("ADDED", {"metadata": {"name": "db-0"}, "spec": {"nodeName": "n"}, "status": {"phase": "Running"}})
        written = time.time()
        deadline = written + 5
        while not shown.lines and time.time() < deadline:
            time.sleep(0.01)
        assert shown.lines and shown.lines[0][1].endswith("ns/db-0 Running")
        assert shown.lines[0][0] - written < 1.0  # shown while "waiting", not at the task's end
        # Lines written just before the result are shown when the result arrives.
        w.pod("MODIFIED", {"metadata": {"name": "db-0"}, "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True"}]}})
        cb.v2_runner_on_ok(None)
        assert shown.lines[-1][1].split(" ", 1)[1].startswith("ns/db-0 Running → Ready")
    finally:
        cb.v2_playbook_on_stats(None)
    assert not os.path.exists(directory)
    assert writer.ENV not in os.environ
    cb.thread.join(1)
    assert not cb.thread.is_alive()  # the follower thread stops with the play
    count = len(shown.lines)
    cb.v2_runner_on_ok(None)  # after the play: nothing left to follow, no error
    assert len(shown.lines) == count
