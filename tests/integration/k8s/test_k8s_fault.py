"""Fault test: the API server is killed and restarted while statefuldb.k8s.statefulset waits.

The wait must resume its watches (from the last resourceVersion, or re-list on 410) and the task must
still succeed with the StatefulSet really ready. Uses the localkube launcher: kill the kube-apiserver
pid from .localkube/run, then `localkube.py up` starts it again (etcd and its data are untouched).
"""
import os
import signal
import subprocess
import sys
import threading
import time

from k8s_helpers import only_result, sts_task

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LOCALKUBE = os.path.join(REPO, "tools", "localkube", "localkube.py")
APISERVER_PID = os.path.join(REPO, ".localkube", "run", "kube-apiserver.pid")


def test_wait_survives_apiserver_restart(playbook, namespace, apps, core):
    # minReadySeconds keeps the wait open long enough to kill the API server in the middle of it.
    definition = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                  "spec": {"minReadySeconds": 25}}
    task = sts_task(namespace, definition=definition, image="registry.example/mariadb:11.4", replicas=2,
                    wait_timeout=240, stall_timeout=0)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(run=playbook([task])), daemon=True)
    runner.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the wait has started once both pods exist
        if len(core.list_namespaced_pod(namespace).items) == 2:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("pods never appeared")
    with open(APISERVER_PID) as f:
        os.kill(int(f.read().strip()), signal.SIGKILL)
    time.sleep(3)  # the API server is gone for a while: the module's watches see connection errors
    restarted = subprocess.run([sys.executable, LOCALKUBE, "up"], cwd=REPO, capture_output=True, text=True,
                               timeout=180, check=False)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    runner.join(timeout=300)
    assert not runner.is_alive()
    result = only_result(outcome["run"])
    assert outcome["run"].rc == 0, result.get("msg")
    assert result["changed"] is True
    assert result["wait_seconds"] >= 25
    assert result["watch_resumes"] >= 1  # the restart really happened during the wait
    sts = apps.read_namespaced_stateful_set("db", namespace)
    assert sts.status.available_replicas == 2 and sts.status.ready_replicas == 2
    assert [row["ordinal"] for row in result["timeline"]] == [0, 1]
