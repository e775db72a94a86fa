"""Secret values never reach syslog / journald, the result, the diff or the echoed invocation (no network).

The modules run in-process (conftest's run_main): AnsibleModule reads the arguments, writes its
"Invoked with ..." line to a captured syslog / journal, and the API is a tiny in-memory fake.
"""
import base64
import copy
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.statefuldb.k8s.plugins.modules import resource, resource_info

PASSWORD = "s3cr3t-Pa55word-42"
DATA_VALUE = "c29tZS1kYXRhLXZhbHVlLTc3"  # base64 of "some-data-value-77"
DECODED = "some-data-value-77"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.kubeconfig-token-xyz"
KEY_DATA = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nabc\n").decode()
SECRETS = (PASSWORD, base64.b64encode(PASSWORD.encode()).decode(), DATA_VALUE, DECODED)


class FakeApi:
    """Just enough of K8sClient for apply / get / delete of one Secret."""

    def __init__(self, existing=None):
        self.objects = {}
        if existing:
            self.objects[existing["metadata"]["name"]] = existing
        self.request_count = 0
        self.last_status = 200
        self.last_headers = {}
        self.last_elapsed = 0.01

    def plural(self, api_version, kind):
        return ("secrets", True)

    def patch(self, api_version, kind, name, namespace, body, dry_run=False, **kwargs):
        self.request_count += 1
        current = self.objects.get(name)
        self.last_status = 200 if current else 201
        after = copy.deepcopy(body)
        data = dict((current or {}).get("data") or {})
        data.update(after.pop("data", None) or {})
        data.update({k: base64.b64encode(str(v).encode()).decode() for k, v in (after.pop("stringData", None) or {}).items()})
        after["data"] = data
        version = int((current or {}).get("metadata", {}).get("resourceVersion", "1")) + 1
        after["metadata"] = dict(after["metadata"], resourceVersion=str(version), uid="u1")
        if not dry_run:
            self.objects[name] = after
        return copy.deepcopy(after)

    def get(self, api_version, kind, name, namespace=None):
        self.request_count += 1
        return copy.deepcopy(self.objects.get(name))

    def delete(self, api_version, kind, name, namespace=None, **kwargs):
        self.request_count += 1
        return self.objects.pop(name, None)


class Journal:
    def __init__(self):
        self.sent = []

    def send(self, *args, **kwargs):
        self.sent.append(json.dumps([args, kwargs], default=str))


@pytest.fixture
def captured_logs(monkeypatch):
    """Everything the module sends to syslog and to journald."""
    lines = []
    monkeypatch.setattr(basic.syslog, "syslog", lambda *args: lines.append(" ".join(str(a) for a in args)))
    monkeypatch.setattr(basic.syslog, "openlog", lambda *args: None)
    journal = Journal()
    monkeypatch.setattr(basic, "has_journal", True)
    monkeypatch.setattr(basic, "journal", journal, raising=False)
    return lambda: "\n".join(lines + journal.sent)


def secret_definition(**extra):
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "ns"},
           "stringData": {"root-password": PASSWORD}, "data": {"other": DATA_VALUE}}
    obj.update(extra)
    return obj


def assert_absent(text, where):
    assert text, "nothing captured from %s" % where
    for value in SECRETS:
        assert value not in text, "%r leaked into %s" % (value, where)


@pytest.mark.parametrize("no_log", [False, True], ids=["task-without-no_log", "task-with-no_log"])
@pytest.mark.parametrize("form", ["dict", "yaml-string", "list"])
def test_secret_values_never_reach_syslog_result_or_diff(form, no_log, captured_logs, run_main):
    definition = {"dict": secret_definition(), "list": [secret_definition()],
                  "yaml-string": "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: ns}\n"
                                 "stringData:\n  root-password: %s\ndata:\n  other: %s\n" % (PASSWORD, DATA_VALUE)}[form]
    existing = secret_definition(stringData=None, data={"root-password": base64.b64encode(b"old-value-123").decode()})
    api = FakeApi(existing)
    unused, out = run_main(resource, {"definition": definition}, api, diff=True, no_log=no_log, verbosity=3)
    result = json.loads(out)
    assert result["changed"] is True, result
    assert api.objects["db"]["data"]["other"] == DATA_VALUE  # the values did reach the API
    assert_absent(out, "the result")
    assert "diff" in result
    assert_absent(json.dumps(result["diff"]), "the diff")
    if not no_log:
        logged = captured_logs()
        assert "Invoked with" in logged and "definition=" in logged  # the line is written, values masked
        assert_absent(logged, "syslog/journald")
        assert "metadata" in json.dumps(result["invocation"])  # the rest of the definition stays readable


def test_unparsable_definition_does_not_echo_its_values(captured_logs, run_main):
    broken = "kind: Secret\nstringData:\n  root-password: %s\n  : [unbalanced\n" % PASSWORD
    unused, out = run_main(resource, {"definition": broken}, FakeApi())
    assert json.loads(out)["failed"] is True
    assert_absent(out + captured_logs(), "a failure message")


def test_kubeconfig_dict_credentials_are_masked_but_the_rest_stays_readable(captured_logs, run_main):
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
                  "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                  "users": [{"name": "u", "user": {"token": TOKEN, "client-key-data": KEY_DATA,
                                                   "password": PASSWORD}}],
                  "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}

    class Api(FakeApi):
        def list(self, *args, **kwargs):
            return {"items": []}

    unused, out = run_main(resource_info, {"kubeconfig": kubeconfig, "kind": "Secret", "namespace": "ns"}, Api())
    logged = captured_logs()
    for value in (TOKEN, KEY_DATA, PASSWORD):
        assert value not in out and value not in logged
    invocation = json.loads(out)["invocation"]["module_args"]["kubeconfig"]
    assert invocation["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1"  # not hidden


class FakeApiHandler(http.server.BaseHTTPRequestHandler):
    """A loopback API server where the Secret does not exist yet (GET: 404) and that accepts any
    server-side apply of it (201 Created), echoing it."""

    def do_GET(self):
        payload = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                              "code": 404}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body.setdefault("data", {}).update({k: base64.b64encode(str(v).encode()).decode()
                                            for k, v in (body.pop("stringData", None) or {}).items()})
        body["metadata"].update({"resourceVersion": "2", "uid": "u1"})
        payload = json.dumps(body).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_real_playbook_at_vvv_with_diff_shows_no_secret_value(tmp_path):
    """ansible-playbook -vvv --diff: the controller's display of the result, invocation and diff."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeApiHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"statefuldb.k8s.resource": {"host": "http://127.0.0.1:%d" % server.server_address[1],
                                     "definition": secret_definition()}}]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(repo, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", K8S_AUTH_KUBECONFIG="")
    env.pop("PYTHONPATH", None)  # under `ansible-test units` it holds a modules-only ansible package
    try:
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                               "-c", "local", "-vvv", "--diff", str(play)],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "changed: [localhost]" in proc.stdout and "root-password" in proc.stdout
    assert_absent(proc.stdout + proc.stderr, "ansible-playbook -vvv --diff output")
