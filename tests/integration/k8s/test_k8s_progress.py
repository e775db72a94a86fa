"""The progress callback prints each pod's transitions while the statefulset module waits.

Real kubelet nodes: a 3-replica OrderedReady StatefulSet whose readiness probe starts after 2 s, so
each ordinal spends seconds in Running before Ready. Two hosts (two namespaces) run at once
(forks 2), with the default stdout callback and no -v. The output is read line by line as it
arrives, so "before the task's result" is measured, not inferred.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_BIN = os.path.dirname(sys.executable)

TOOLS = "localhost/statefuldb/tools:1"
LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d) (\S+)/(\S+) (.*)$")


def _statefulset_task():
    return {
        "name": "Slow StatefulSet",
        "statefuldb.k8s.statefulset": {
            "name": "slow", "namespace": "{{ ns }}", "replicas": 3, "wait_timeout": 240,
            "definition": {"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"template": {"spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "c", "image": TOOLS, "imagePullPolicy": "Never",
                                "command": ["sleep", "600"],
                                "readinessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 2,
                                                   "periodSeconds": 1}}]}}}},
        },
    }


def _run_streaming(playbook, inventory, env):
    """(rc, [(arrival monotonic-free wall time, line)]) of ansible-playbook, read as it prints."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, "-f", "2", playbook]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append((time.time(), line.rstrip("\n")))
    return proc.wait(timeout=600), lines


def _clock(match):
    h, m, s, tenth = (int(g) for g in match.groups()[:4])
    return h * 3600 + m * 60 + s + tenth / 10.0


@pytest.fixture
def running_kubeconfig():
    """The local control plane's kubeconfig, only if it already answers: this test never starts it."""
    from kubernetes import client, config

    path = os.path.join(REPO, ".localkube", "kubeconfig")
    try:
        api = config.new_client_from_config(config_file=path)
        client.VersionApi(api).get_code()
    except Exception as exc:  # noqa: BLE001 - any failure means "not up"
        pytest.fail("local control plane not running (make cluster): %s" % exc)
    return path, api


def test_progress_lines_arrive_before_the_result(running_kubeconfig):
    from kubernetes import client

    kubeconfig, api = running_kubeconfig
    core = client.CoreV1Api(api)
    suffix = "%x" % int(time.time() * 1000 % 0xFFFFFF)
    namespaces = ["t-progress-a-%s" % suffix, "t-progress-b-%s" % suffix]
    for ns in namespaces:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            playbook = os.path.join(tmp, "play.yml")
            inventory = os.path.join(tmp, "hosts.yml")
            with open(playbook, "w") as f:
                yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [_statefulset_task()]}], f)
            with open(inventory, "w") as f:
                yaml.safe_dump({"all": {"hosts": {
                    "a": {"ns": namespaces[0], "ansible_connection": "local",
                          "ansible_python_interpreter": sys.executable},
                    "b": {"ns": namespaces[1], "ansible_connection": "local",
                          "ansible_python_interpreter": sys.executable}}}}, f)
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
                       ANSIBLE_CALLBACKS_ENABLED="statefuldb.k8s.progress", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_STDOUT_CALLBACK="default", K8S_AUTH_KUBECONFIG=kubeconfig,
                       PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
            rc, lines = _run_streaming(playbook, inventory, env)
    finally:
        for ns in namespaces:
            core.delete_namespace(ns)
    output = "\n".join(entry[1] for entry in lines)
    assert rc == 0, output

    for host, ns in zip("ab", namespaces):
        result = [i for i, entry in enumerate(lines) if re.match(r"^(ok|changed): \[%s\]" % host, entry[1])]
        assert len(result) == 1, output
        result_at = lines[result[0]][0]
        progress = [(i, at, LINE.match(line)) for i, (at, line) in enumerate(lines)
                    if LINE.match(line) and LINE.match(line).group(5) == ns]
        texts = [row[2].group(6) + " " + row[2].group(7) for row in progress]
        for ordinal in range(3):
            pod = "slow-%d" % ordinal
            # Each ordinal is seen Running then Ready, one line per transition.
            assert any(t.startswith(pod + " ") and "→ Running" in t for t in texts), output
            assert any(t.startswith(pod + " ") and "Running → Ready" in t for t in texts), output
        ready_lines = [(i, at, m) for i, at, m in progress if "→ Ready" in m.group(7)]
        # Printed while the task was still waiting: the first ordinal's Ready line was on screen
        # well before the host's result (ordinals 1 and 2 still had to start and pass their probe).
        first_ready = min(ready_lines, key=lambda r: r[0])
        assert first_ready[0] < result[0], output
        assert result_at - first_ready[1] >= 2.0, output
        # The stamps in the lines are the moments of the transitions, before the result arrived.
        stamp = _clock(first_ready[2])
        arrival = time.localtime(first_ready[1])
        arrival_clock = arrival.tm_hour * 3600 + arrival.tm_min * 60 + arrival.tm_sec + first_ready[1] % 1
        assert 0 <= (arrival_clock - stamp) % 86400 < 2.0, output
        last_stamp = max(_clock(row[2]) for row in progress)
        result_local = time.localtime(result_at)
        result_clock = result_local.tm_hour * 3600 + result_local.tm_min * 60 + result_local.tm_sec + result_at % 1
        assert 0 <= (result_clock - last_stamp) % 86400 < 30, output


def test_progress_lines_are_job_events_under_ansible_runner(running_kubeconfig, tmp_path):
    """AWX runs jobs through ansible-runner with its own stdout callback; the lines become job events."""
    import ansible_runner  # in requirements-dev.txt: its absence is a failure, not a skip
    from kubernetes import client

    kubeconfig, api = running_kubeconfig
    core = client.CoreV1Api(api)
    ns = "t-progress-awx-%x" % int(time.time() * 1000 % 0xFFFFFF)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    try:
        for sub in ("project", "env", "inventory"):
            (tmp_path / sub).mkdir()
        with open(str(tmp_path / "project" / "play.yml"), "w") as f:
            yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [_statefulset_task()]}], f)
        (tmp_path / "inventory" / "hosts").write_text(
            "a ns=%s ansible_connection=local ansible_python_interpreter=%s\n" % (ns, sys.executable))
        env = {"ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collections"),
               "ANSIBLE_CALLBACKS_ENABLED": "statefuldb.k8s.progress", "K8S_AUTH_KUBECONFIG": kubeconfig,
               "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "")}
        run = ansible_runner.run(private_data_dir=str(tmp_path), playbook="play.yml", envvars=env, quiet=True)
    finally:
        core.delete_namespace(ns)
    events = list(run.events)
    assert run.status == "successful", [e.get("stdout") for e in events]
    result = [i for i, e in enumerate(events) if e["event"] == "runner_on_ok"]
    progress = [i for i, e in enumerate(events)
                if e["event"] == "verbose" and "%s/slow-" % ns in (e.get("stdout") or "")]
    texts = [events[i]["stdout"] for i in progress]
    assert len(result) == 1 and progress, texts
    assert any("slow-2 Running → Ready" in t for t in texts), texts
    # Events while the task ran (AWX shows them live), before the task's result event.
    assert [i for i in progress if i < result[0]] and progress[0] < result[0]
    assert any("slow-0 Running → Ready" in events[i]["stdout"] and
               events[i]["created"] < events[result[0]]["created"] for i in progress), texts
