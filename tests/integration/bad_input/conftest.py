# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the bad-input corpus: where the Kubernetes cases write (or must not), the Cloud SQL
Admin API fake, a canary MariaDB, and one ansible-playbook run per group of cases.

Kubernetes target: the shared local cluster when it answers within a few seconds (objects in a
fresh namespace compared by resourceVersion before and after), otherwise a loopback stand-in API
server that records every request (any write fails the case). The cluster is never started here.
"""
import contextlib
import datetime
import http.server
import importlib
import io
import json
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
import uuid

import pytest
import yaml

from statefuldb_dev import REPO, cloudsql_fixtures, playbook
from statefuldb_dev.cloudsql_support import PROJECT
from statefuldb_dev.mariadb import MARIADBD, MariaDBServer

# The Cloud SQL fixtures, under their own names (pytest finds a fixture by its name in conftest.py).
tls_material = cloudsql_fixtures.tls_material
fake_api = cloudsql_fixtures.fake_api
service_account = cloudsql_fixtures.service_account

# The test modules import this file as ``conftest`` (its helpers): its folder goes first on sys.path,
# since several folders have a conftest.py.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def bad_gcp(fake_api, service_account, tls_material):
    """Module options for one instance of the fake shared by every Cloud SQL case."""
    name = "bad-%s" % uuid.uuid4().hex[:8]
    fake_api.add_instance(PROJECT, name, public_ip="127.0.0.1", server_ca_pem=tls_material["ca_pem"])
    return {"project": PROJECT, "instance": name, "auth_kind": "serviceaccount",
            "service_account_file": service_account["path"], "api_endpoint": fake_api.base_url,
            "wait_timeout": 600}


# The local cluster's kubeconfig (tools/localkube writes it into this checkout).
CLUSTER_KUBECONFIGS = [os.path.join(REPO, ".localkube", "kubeconfig")]


def run_playbook(tasks, **kwargs):
    return playbook.run_playbook(tasks, **kwargs)


def cluster_kubeconfig():
    """The shared cluster's kubeconfig if its API server answers within 3 s, else None."""
    for path in CLUSTER_KUBECONFIGS:
        if not os.path.exists(path):
            continue
        try:
            from kubernetes import client, config
            api = config.new_client_from_config(config_file=path)
            client.VersionApi(api).get_code(_request_timeout=3)
            return path
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            continue
    return None


class Recorder(http.server.ThreadingHTTPServer):
    """A stand-in API server: GETs are answered 404, anything else 403; every request is kept."""

    daemon_threads = True

    def __init__(self):
        self.requests = []
        super().__init__(("127.0.0.1", 0), _RecorderHandler)

    @property
    def writes(self):
        return [r for r in self.requests if r[0] not in ("GET", "HEAD")]


class _RecorderHandler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        self.server.requests.append((self.command, self.path))
        code = 404 if self.command in ("GET", "HEAD") else 403
        body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                           "reason": "NotFound" if code == 404 else "Forbidden",
                           "message": "bad-input recorder"}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    def log_message(self, *args):
        pass


class K8sTarget(object):
    """What the Kubernetes cases run against, and how to prove nothing was written."""

    def __init__(self, kubeconfig, namespace, recorder=None, api=None):
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.recorder = recorder
        self.api = api

    @property
    def kind(self):
        return "recorder" if self.recorder else "cluster"

    def snapshot(self):
        if self.recorder:
            return list(self.recorder.writes)
        from kubernetes import client as k8s
        core, apps = k8s.CoreV1Api(self.api), k8s.AppsV1Api(self.api)
        listings = {"ConfigMap": core.list_namespaced_config_map, "Secret": core.list_namespaced_secret,
                    "Service": core.list_namespaced_service,
                    "PersistentVolumeClaim": core.list_namespaced_persistent_volume_claim,
                    "StatefulSet": apps.list_namespaced_stateful_set}
        state = {}
        for kind, listing in listings.items():
            for item in listing(self.namespace).items:
                state[(kind, item.metadata.name)] = item.metadata.resource_version
        state[("Namespace", "*")] = sorted(n.metadata.name for n in core.list_namespace().items
                                           if n.metadata.name.startswith("bad-input-missing-"))
        return state


@pytest.fixture(scope="session")
def k8s_target():
    kubeconfig = cluster_kubeconfig()
    if kubeconfig:
        from kubernetes import client, config
        api = config.new_client_from_config(config_file=kubeconfig)
        core = client.CoreV1Api(api)
        name = "bad-input-%s" % uuid.uuid4().hex[:6]
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        # A canary object whose resourceVersion must not move.
        core.create_namespaced_config_map(name, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="canary"),
                                                                   data={"a": "b"}))
        yield K8sTarget(kubeconfig, name, api=api)
        # A fresh client: the cluster may have been reset (new CA) by a later test; its namespace is
        # then gone already.
        try:
            client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig)).delete_namespace(name)
        except client.exceptions.ApiException as exc:
            if exc.status != 404:
                raise
        return
    recorder = Recorder()
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    directory = tempfile.mkdtemp(prefix="bad-input-kube-")
    path = os.path.join(directory, "kubeconfig")
    server = "http://127.0.0.1:%d" % recorder.server_address[1]
    with open(path, "w") as handle:
        yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "rec",
                        "clusters": [{"name": "rec", "cluster": {"server": server}}],
                        "users": [{"name": "rec", "user": {"token": "recorder-token"}}],
                        "contexts": [{"name": "rec", "context": {"cluster": "rec", "user": "rec"}}]}, handle)
    yield K8sTarget(path, "bad-input-ns", recorder=recorder)
    recorder.shutdown()


@pytest.fixture(scope="session")
def canary_mariadb():
    """One throwaway MariaDB with a canary database and row; no replication configured."""
    if not os.path.exists(MARIADBD):
        pytest.fail("mariadbd is not installed: run `bash tools/system-deps.sh` (Debian mariadb-server).")
    base = tempfile.mkdtemp(prefix="sfdb-bad-")
    server = MariaDBServer(base, "canary", 77)
    server.start(first_boot=True)
    server.set_root_password()
    server.sql("CREATE DATABASE canary")
    server.sql("CREATE TABLE canary.t (id INT PRIMARY KEY, v VARCHAR(20))")
    server.sql("INSERT INTO canary.t VALUES (1, 'intact')")
    yield server
    server.stop()


def canary_state(server):
    """Everything a bad mysql_replication run could have touched."""
    return {
        "rows": server.sql("SELECT id, v FROM canary.t ORDER BY id"),
        "databases": sorted(r[0] if isinstance(r, (list, tuple)) else list(r.values())[0]
                            for r in server.sql("SHOW DATABASES")),
        "users": sorted(str(r) for r in server.sql("SELECT user, host FROM mysql.user")),
        "replica": server.replica_status(),
        "read_only": server.value("SELECT @@global.read_only"),
        "gtid": server.value("SELECT @@global.gtid_binlog_pos"),
    }


# ---- running a group of cases ---------------------------------------------------------------------
def _seconds(task):
    duration = task.get("task", {}).get("duration") or {}
    try:
        start = datetime.datetime.fromisoformat(duration["start"].replace("Z", "+00:00"))
        end = datetime.datetime.fromisoformat(duration["end"].replace("Z", "+00:00"))
    except (KeyError, ValueError, AttributeError):
        return None
    return (end - start).total_seconds()


CASE_LIMIT = 30  # seconds; a case still running by then has retried or waited on a mistake


class CaseTimeout(BaseException):
    """Raised by the alarm inside a module that is still running (BaseException: not swallowed)."""


def invoke_module(fqcn, args):
    """Run one module's main() in this process, as ansible-playbook would hand it ``args``.

    Returns (result, seconds). A module that raises instead of calling fail_json/exit_json gets a
    result carrying the traceback, which the assertions reject. Direct invocation keeps a corpus
    of dozens of cases to a few seconds; the roles' cases still go through ansible-playbook.
    """
    from ansible.module_utils import basic

    name = fqcn.rsplit(".", 1)[-1]
    module = importlib.import_module("ansible_collections.statefuldb.k8s.plugins.modules." + name)
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    basic._ANSIBLE_PROFILE = "legacy"
    out = io.StringIO()
    start = time.monotonic()

    def too_slow(signum, frame):
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(CASE_LIMIT)
    try:
        with contextlib.redirect_stdout(out):
            module.main()
        result = {"failed": True, "msg": "module returned without exit_json/fail_json"}
    except CaseTimeout:
        result = {"failed": False, "msg": "still running after %ds: a user mistake was retried or waited on"
                  % CASE_LIMIT}
    except SystemExit:
        text = out.getvalue()
        try:
            result = json.loads(text[text.index("{"):])
        except ValueError:
            result = {"failed": True, "msg": "unparsable module output", "module_stderr": text}
    except Exception:  # noqa: BLE001 - a crash is exactly what the corpus must catch
        result = {"failed": True, "msg": "module raised", "exception": traceback.format_exc()}
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        basic._ANSIBLE_ARGS = None
    return result, time.monotonic() - start


def run_module_cases(cases):
    """{case id: (result, seconds)} for every case, each module run directly."""
    return {case["id"]: invoke_module(case["module"], case["args"]) for case in cases}


def run_role_cases(role, cases, env=None, tasks_from=None):
    """One play; each case includes the role in a block whose rescue records the failure.

    {case id: {"failed": bool, "msg": str, "task": name, "seconds": float, "result": dict}}
    """
    tasks = []
    for case in cases:
        include = {"name": role}
        if case.get("tasks_from") or tasks_from:
            include["tasks_from"] = case.get("tasks_from") or tasks_from
        record = ("{{ bad_input | default({}) | combine({%s: {'failed': %s, 'msg': %s, 'task': %s, "
                  "'seconds': (now().timestamp() - bad_input_start | float), 'result': %s}}) }}")
        tasks.append({"name": "case " + case["id"], "block": [
            {"name": "start " + case["id"], "ansible.builtin.set_fact": {"bad_input_start": "{{ now().timestamp() }}"}},
            {"name": "role " + case["id"], "ansible.builtin.include_role": include, "vars": case["vars"]},
            {"name": "no failure " + case["id"], "ansible.builtin.set_fact": {
                "bad_input": record % (json.dumps(case["id"]), "false", "''", "''", "{}")}},
        ], "rescue": [
            {"name": "failed " + case["id"], "ansible.builtin.set_fact": {
                "bad_input": record % (json.dumps(case["id"]), "true",
                                       "ansible_failed_result.msg | default('') | string",
                                       "ansible_failed_task.name | default('')",
                                       "ansible_failed_result")}},
        ]})
    tasks.append({"name": "bad input report", "ansible.builtin.debug": {"var": "bad_input"}})
    run = run_playbook(tasks, env=env, timeout=600)
    report = {}
    for result in run.results:
        if result.get("_task") == "bad input report":
            report = result.get("bad_input") or {}
    return run, report


def assert_clean_failure(case, result, seconds, limit=15):
    """Failed, named the field and what to do, no traceback, quick."""
    text = json.dumps(result, default=str)
    assert result.get("failed"), "case %s did not fail: %s" % (case["id"], text[:1500])
    msg = str(result.get("msg", ""))
    for word in case["expect"]:
        assert word in msg, "case %s: %r not in message %r" % (case["id"], word, msg)
    # ansible-core 2.19 puts "(traceback unavailable)" in every fail_json result; a real one is a bug.
    assert "Traceback (most recent call last)" not in text, "case %s: traceback: %s" % (case["id"], text[:3000])
    assert result.get("exception", "(traceback unavailable)") == "(traceback unavailable)", text[:3000]
    assert "module_stderr" not in result, "case %s: module crashed: %s" % (case["id"], text[:3000])
    if seconds is not None:
        assert seconds < limit, "case %s took %.1fs (a user mistake must fail within seconds)" % (case["id"], seconds)
