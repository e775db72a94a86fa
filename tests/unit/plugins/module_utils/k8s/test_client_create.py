"""K8sClient.create after a connection reset: a POST the server may have done is never reported twice (no network)."""
import json

import pytest
from urllib3.exceptions import ConnectTimeoutError, ProtocolError

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import (
    K8sApiError,
    K8sClient,
    RetryPolicy,
    created_by,
)

BODY = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"app": "db"}},
        "data": {"a": "1"}}
EXISTS = {"kind": "Status", "reason": "AlreadyExists", "code": 409, "message": 'configmaps "cfg" already exists'}


class Response:
    def __init__(self, status, body):
        self.status = status
        self.data = json.dumps(body).encode()
        self.headers = {}


class Transport:
    """Plays answers in order (a Response, or an exception raised as the request is sent)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    def request(self, method, url, body=None, **kwargs):
        self.sent.append((method, url.split("?")[0]))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(*answers):
    from kubernetes.client import Configuration

    config = Configuration()
    config.host = "https://127.0.0.1:6443"
    transport = Transport(answers)
    api = K8sClient(config, pool=transport, policy=RetryPolicy(30, sleep=lambda s: None, rand=lambda: 0.5))
    api.contacted = True
    return api, transport


def live(manager="statefuldb", data=None, operation="Update"):
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "cfg", "namespace": "ns", "uid": "u1", "labels": {"app": "db"},
                        "managedFields": [{"manager": manager, "operation": operation, "apiVersion": "v1"}]},
           "data": data or {"a": "1"}}
    return obj


def reset():
    return ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))


def test_a_resent_post_that_already_created_our_object_returns_it_as_created():
    api, transport = client(reset(), Response(409, EXISTS), Response(200, live()))
    created = api.create("v1", "ConfigMap", "ns", BODY, field_manager="statefuldb")
    assert created["metadata"]["uid"] == "u1" and api.last_status == 201
    assert transport.sent == [("POST", "https://127.0.0.1:6443/api/v1/namespaces/ns/configmaps")] * 2 + [
        ("GET", "https://127.0.0.1:6443/api/v1/namespaces/ns/configmaps/cfg")]


@pytest.mark.parametrize("someone_else", [
    live(manager="kubectl-create"),      # another writer made it
    live(data={"a": "2"}),               # ours by name, but not what we sent
    live(operation="Apply"),             # our manager applied it, nobody of ours POSTed it
])
def test_an_object_that_is_not_what_we_sent_keeps_the_409(someone_else):
    api, _transport = client(reset(), Response(409, EXISTS), Response(200, someone_else))
    with pytest.raises(K8sApiError) as caught:
        api.create("v1", "ConfigMap", "ns", BODY, field_manager="statefuldb")
    assert caught.value.status == 409 and caught.value.reason == "AlreadyExists"


def test_an_object_gone_again_keeps_the_409():
    api, _transport = client(reset(), Response(409, EXISTS), Response(404, {"reason": "NotFound"}))
    with pytest.raises(K8sApiError, match="409"):
        api.create("v1", "ConfigMap", "ns", BODY, field_manager="statefuldb")


@pytest.mark.parametrize("first", [None, ConnectTimeoutError("connect timed out")])
def test_a_409_to_a_post_that_was_not_sent_before_is_not_read_back(first):
    answers = ([first] if first else []) + [Response(409, EXISTS)]
    api, transport = client(*answers)
    with pytest.raises(K8sApiError, match="409"):
        api.create("v1", "ConfigMap", "ns", BODY, field_manager="statefuldb")
    assert [m for m, _url in transport.sent] == ["POST"] * len(answers)


def test_without_a_field_manager_the_user_agent_is_the_manager():
    api, _transport = client(reset(), Response(409, EXISTS), Response(200, live(manager="statefuldb.k8s")))
    assert api.create("v1", "ConfigMap", "ns", BODY)["metadata"]["uid"] == "u1"


def test_created_by_ignores_server_defaults_but_not_rewritten_values():
    defaulted = live()
    defaulted["metadata"]["labels"]["added-by-webhook"] = "x"
    defaulted["immutable"] = False
    assert created_by(defaulted, BODY, "statefuldb") is True
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "x"}}
    stored = {"metadata": {"managedFields": [{"manager": "statefuldb", "operation": "Update"}]}, "data": {"p": "eA=="}}
    assert created_by(stored, secret, "statefuldb") is False


# -- end to end over sockets: tools/faultproxy.py resets the connection after forwarding the POST ------------
class ConfigMapApi:
    """A small API server over HTTP: POST creates a ConfigMap (409 AlreadyExists when it exists), GET reads it."""

    def __init__(self):
        import http.server
        import threading
        from urllib.parse import parse_qs, urlsplit

        self.objects, self.posts = {}, 0
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                api.posts += 1
                sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                url = urlsplit(self.path)
                manager = (parse_qs(url.query).get("fieldManager") or [self.headers["User-Agent"].split("/")[0]])[0]
                name = sent["metadata"]["name"]
                if name in api.objects:
                    return self.answer(409, dict(EXISTS, message='configmaps "%s" already exists' % name))
                sent["metadata"].update(namespace="ns", uid="uid-%d" % api.posts,
                                        managedFields=[{"manager": manager, "operation": "Update", "apiVersion": "v1"}])
                api.objects[name] = sent
                return self.answer(201, sent)

            def do_GET(self):
                name = urlsplit(self.path).path.rsplit("/", 1)[1]
                if name not in api.objects:
                    return self.answer(404, {"kind": "Status", "reason": "NotFound", "code": 404})
                return self.answer(200, api.objects[name])

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kubeconfig(self, directory):
        path = str(directory / "upstream")
        with open(path, "w") as f:
            json.dump({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                       "clusters": [{"name": "c", "cluster": {
                           "server": "http://127.0.0.1:%d" % self.server.server_address[1]}}],
                       "users": [{"name": "u", "user": {}}]}, f)
        return path


@pytest.fixture
def behind_faultproxy(tmp_path):
    from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.connection import ConnectionSettings
    from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

    faultproxy = load_script("tools", "faultproxy")
    api = ConfigMapApi()
    schedule = faultproxy.Schedule([faultproxy.parse_rule("reset-after:verb=POST,limit=1")])
    proxy = faultproxy.FaultProxy(api.kubeconfig(tmp_path), schedule).start()
    k8s = K8sClient(ConnectionSettings("http://127.0.0.1:%d" % proxy.port), policy=RetryPolicy(20))
    yield api, proxy, k8s
    proxy.stop()
    api.server.shutdown()


def test_a_post_reset_after_it_was_forwarded_creates_once_and_succeeds(behind_faultproxy):
    api, proxy, k8s = behind_faultproxy
    created = k8s.create("v1", "ConfigMap", "ns", BODY, field_manager="statefuldb")
    assert api.posts == 2 and list(api.objects) == ["cfg"]  # the first POST took effect, the resend got 409
    assert created["metadata"]["uid"] == "uid-1" and k8s.last_status == 201
    assert [(r["verb"], r["fault"]) for r in proxy.records][:2] == [("POST", "reset-after"), ("POST", None)]


def test_behind_faultproxy_an_object_someone_else_made_still_fails(behind_faultproxy):
    api, _proxy, k8s = behind_faultproxy
    api.objects["cfg"] = dict(live(manager="kubectl-create"), data={"a": "theirs"})
    with pytest.raises(K8sApiError) as caught:
        k8s.create("v1", "ConfigMap", "ns", BODY, field_manager="statefuldb")
    assert caught.value.status == 409 and api.objects["cfg"]["data"] == {"a": "theirs"}
