"""Shared fixtures for integration tests: the local control plane and a real ansible-playbook.

Integration tests need the services CI starts: the local Kubernetes control plane
(tools/localkube, started here if it is not running) and, for database tests, Debian's MariaDB.
"""
import json
import os
import subprocess
import sys
import tempfile
import uuid

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCALKUBE = os.path.join(REPO, "tools", "localkube", "localkube.py")
KUBECONFIG = os.path.join(REPO, ".localkube", "kubeconfig")
sys.path.insert(0, os.path.join(REPO, "tools", "localkube"))
from localkube import KWOK_NAMESPACE_ANNOTATIONS  # noqa: E402
VENV_BIN = os.path.dirname(sys.executable)


def pytest_configure(config):
    config.addinivalue_line("markers", "runs_last: run after every other test of the session (the test resets "
                                       "the shared cluster and brings it back up)")
    config.addinivalue_line("markers", "cluster_reset: wipes the local cluster and everything on it; only "
                                       "`make test-reset` runs it (`make test` deselects it: -m 'not cluster_reset')")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)  # stable: order kept otherwise


@pytest.fixture(scope="session")
def kubeconfig():
    """Path of the admin kubeconfig of a running local control plane (started if needed)."""
    subprocess.run([sys.executable, LOCALKUBE, "up"], cwd=REPO, check=True)
    return KUBECONFIG


@pytest.fixture(scope="session")
def k8s_client(kubeconfig):
    """A kubernetes.client.ApiClient for the local control plane."""
    from kubernetes import client, config

    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def core(k8s_client):
    """CoreV1Api of the local control plane."""
    from kubernetes import client

    return client.CoreV1Api(k8s_client)


@pytest.fixture
def apps(k8s_client):
    """AppsV1Api of the local control plane."""
    from kubernetes import client

    return client.AppsV1Api(k8s_client)


def _fresh_namespace(k8s_client, request, annotations):
    from kubernetes import client

    core = client.CoreV1Api(k8s_client)
    name = "t-%s-%s" % (request.node.name[:30].lower().replace("_", "-").strip("-"), uuid.uuid4().hex[:6])
    name = "".join(c for c in name if c.isalnum() or c == "-")[:63].strip("-")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, annotations=annotations)))
    return name


@pytest.fixture
def namespace(k8s_client, request):
    """A fresh namespace for one test whose pods all land on the KWOK (fake) nodes, deleted
    afterwards.

    Why KWOK: these tests prove the orchestration (API objects, the real controllers and
    scheduler, our waits) with made-up images that no node could run, some with hundreds of pods.
    Tests of real containers use ``real_namespace``."""
    from kubernetes import client

    name = _fresh_namespace(k8s_client, request, dict(KWOK_NAMESPACE_ANNOTATIONS))
    yield name
    client.CoreV1Api(k8s_client).delete_namespace(name)


@pytest.fixture
def real_namespace(k8s_client, request):
    """A fresh namespace whose pods run on the real kubelet nodes, deleted afterwards."""
    from kubernetes import client

    name = _fresh_namespace(k8s_client, request, None)
    yield name
    client.CoreV1Api(k8s_client).delete_namespace(name)


class PlaybookRun:
    """What one ansible-playbook run produced: rc, per-task results, the raw output."""

    def __init__(self, rc, stdout, stderr, data):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.data = data

    @property
    def results(self):
        """The host's result of each task, in order (localhost only)."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                res = task.get("hosts", {}).get("localhost")
                if res is not None:
                    res = dict(res)
                    res["_task"] = task.get("task", {}).get("name")
                    out.append(res)
        return out

    @property
    def stats(self):
        return self.data.get("stats", {}).get("localhost", {})


def run_playbook(tasks_or_playbook, *, check=False, diff=False, extra_vars=None, env=None,
                 verbosity=0, kubeconfig=None, timeout=900, json_output=True):
    """Run a real ansible-playbook against localhost and return a PlaybookRun.

    ``tasks_or_playbook`` is a list of tasks (wrapped in a localhost play) or a path to a playbook.
    """
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(tasks_or_playbook, str) and os.path.exists(tasks_or_playbook):
            playbook = tasks_or_playbook
        else:
            playbook = os.path.join(tmp, "play.yml")
            with open(playbook, "w") as f:
                yaml.safe_dump([{"hosts": "localhost", "gather_facts": False,
                                 "tasks": tasks_or_playbook}], f)
        cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", playbook]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if extra_vars:
            path = os.path.join(tmp, "vars.json")
            with open(path, "w") as f:
                json.dump(extra_vars, f)
            cmd += ["-e", "@" + path]
        run_env = dict(os.environ)
        run_env.update({
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collections"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "PATH": VENV_BIN + os.pathsep + run_env.get("PATH", ""),
        })
        if json_output:
            run_env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        if kubeconfig:
            run_env["K8S_AUTH_KUBECONFIG"] = kubeconfig
        if env:
            run_env.update(env)
        proc = subprocess.run(cmd, cwd=REPO, env=run_env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        data = {}
        if json_output:
            try:
                data = json.loads(proc.stdout)
            except ValueError:
                data = {}
        return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, data)


@pytest.fixture
def playbook(kubeconfig):
    """run_playbook with the local control plane's kubeconfig in K8S_AUTH_KUBECONFIG."""

    def _run(tasks, **kwargs):
        kwargs.setdefault("kubeconfig", kubeconfig)
        return run_playbook(tasks, **kwargs)

    return _run


@pytest.fixture
def offline_playbook():
    """run_playbook for plays that never reach a cluster (template rendering): no cluster is started."""
    return run_playbook
