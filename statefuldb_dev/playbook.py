"""A real ansible-playbook run against localhost, and what it produced (the JSON callback's result).

Used by the integration tests (the ``playbook`` fixtures of tests/integration) and the benchmarks
(bench/k8s_bench.py, bench/chaos_role.py): the collection comes from the checkout's .collections
link, the interpreter and the ansible-playbook from the running Python's virtual environment.
"""
import json
import os
import subprocess
import sys
import tempfile

import yaml

from statefuldb_dev import COLLECTIONS, REPO

VENV_BIN = os.path.dirname(sys.executable)


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
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
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
