"""Unit tests of bench/chaos_restarts.py: the stopped component always comes back, and every scenario is bounded.

localkube is replaced by a stand-in whose "component" is a real process (``sleep``), so the kill,
the wait for it to be gone, the start and the watchdog act on real processes.
"""
import subprocess
import threading
import time

import pytest

from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

chaos_restarts = load_script("bench", "chaos_restarts")


class FakeLocalkube:
    """localkube's process functions over one real process per name; ``fail_starts`` failed starts first."""

    class LocalkubeError(RuntimeError):
        pass

    PORTS = {}
    STOP_GRACE = {}
    HEALTH_TIMEOUT = {"comp": 5}
    COMPONENTS = ["comp"]

    def __init__(self, fail_starts=0):
        self.procs, self.starts, self.fail_starts = {}, [], fail_starts

    @staticmethod
    def kind(name):
        return name

    @staticmethod
    def bin_dir(build=True):
        return "/nonexistent"

    @staticmethod
    def port_in_use(host, port):
        return False

    def running_pid(self, name):
        proc = self.procs.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self, name, binaries):
        self.starts.append(time.monotonic())
        if self.fail_starts:
            self.fail_starts -= 1
            raise self.LocalkubeError("cannot start %s: port in use" % name)
        self.procs[name] = subprocess.Popen(["sleep", "600"])

    def wait_healthy(self, name):
        if self.running_pid(name) is None:
            raise self.LocalkubeError("%s is not running" % name)
        return 0.0

    def healthy(self, name):
        return self.running_pid(name) is not None, ""

    def close(self):
        for proc in self.procs.values():
            proc.kill()
            proc.wait()


@pytest.fixture
def lk():
    fake = FakeLocalkube()
    fake.start("comp", None)
    fake.starts.clear()
    yield fake
    fake.close()


def restarts(lk, **kwargs):
    return chaos_restarts.Restarts(chaos=None, kubeconfig="/nonexistent", lk=lk, client=object(), **kwargs)


@pytest.mark.parametrize("kill", [True, False])
def test_restart_kills_then_starts_a_new_process(lk, kill):
    old = lk.running_pid("comp")
    seconds = restarts(lk).restart("comp", kill=kill)
    new = lk.running_pid("comp")
    assert new is not None and new != old
    assert chaos_restarts.process_gone(old)
    assert len(lk.starts) == 1 and seconds < 5


def test_a_failed_start_is_retried(lk):
    lk.fail_starts = 2
    restarts(lk).restart("comp", kill=True)
    assert lk.running_pid("comp") is not None and len(lk.starts) == 3


def test_the_component_is_started_even_when_the_stop_raises(lk, monkeypatch):
    r = restarts(lk)

    def broken_stop(name, pid, kill):
        lk.procs[name].kill()
        lk.procs[name].wait()
        raise RuntimeError("boom")

    monkeypatch.setattr(r, "stop", broken_stop)
    with pytest.raises(RuntimeError, match="boom"):
        r.restart("comp", kill=True)
    assert lk.running_pid("comp") is not None and len(lk.starts) == 1


def test_the_watchdog_starts_the_component_while_the_scenario_thread_hangs(lk, monkeypatch):
    r = restarts(lk, outage_bound=0.3)
    release, stopped = threading.Event(), threading.Event()

    def hanging_stop(name, pid, kill):
        lk.procs[name].kill()
        lk.procs[name].wait()
        stopped.set()
        release.wait(30)  # the scenario thread is stuck here

    monkeypatch.setattr(r, "stop", hanging_stop)
    worker = threading.Thread(target=r.restart, args=("comp", True), daemon=True)
    worker.start()
    assert stopped.wait(10)
    deadline = time.monotonic() + 10
    while lk.running_pid("comp") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lk.running_pid("comp") is not None, "the watchdog did not start the component"
    assert worker.is_alive(), "the scenario thread was meant to be still stuck"
    assert any("watchdog" in e for e in r.events)
    release.set()
    worker.join(10)
    assert len(lk.starts) == 1  # the scenario's own start found it running


def test_a_hung_scenario_is_bounded_and_the_component_comes_back(lk, monkeypatch):
    r = restarts(lk, scenario_bound=0.5)
    monkeypatch.setattr(r, "_run", lambda *args: (lk.procs["comp"].kill(), lk.procs["comp"].wait(), time.sleep(30)))
    started = time.monotonic()
    outcome = r.run("title", "comp")
    assert time.monotonic() - started < 10
    assert outcome["ok"] is False and outcome["error"].startswith("HUNG")
    assert lk.running_pid("comp") is not None and outcome["cluster_healthy_after"] is True
