"""Auth resolution, the retry policy and error wording of the API client (no network)."""
import os
import time

import pytest
import yaml
from urllib3.exceptions import NewConnectionError, ProtocolError

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import config as k8s_config
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import (
    K8sApiError,
    K8sClient,
    K8sConfigError,
    K8sUnreachableError,
    RetryPolicy,
    is_retryable_status,
    resolve_configuration,
)


class FakeResponse:
    def __init__(self, status, body=b"{}", headers=None):
        self.status = status
        self.data = body
        self.headers = headers or {}


class FakePool:
    """Plays a list of answers (FakeResponse or exception) and records requests."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    def request(self, method, url, **kwargs):
        self.sent.append((method, url, kwargs.get("headers", {})))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def make_client(answers, timeout=30, contacted=True):
    from kubernetes.client import Configuration

    config = Configuration()
    config.host = "https://127.0.0.1:6443"
    config.api_key = {"authorization": "Bearer tok"}
    clock = FakeClock()
    policy = RetryPolicy(timeout, clock=clock.clock, sleep=clock.sleep, rand=lambda: 0.5)
    pool = FakePool(answers)
    client = K8sClient(config, pool=pool, policy=policy)
    client.contacted = contacted
    return client, pool, clock


RETRY_CASES = [
    ("429 then ok", [FakeResponse(429, headers={"Retry-After": "1"}), FakeResponse(200, b'{"ok": 1}')], 2),
    ("503 then ok", [FakeResponse(503), FakeResponse(200, b'{"ok": 1}')], 2),
    ("500 twice then ok", [FakeResponse(500), FakeResponse(500), FakeResponse(200, b'{"ok": 1}')], 3),
    ("connection reset then ok", [ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
                                  FakeResponse(200, b'{"ok": 1}')], 2),
    ("409 object modified is re-applied", [
        FakeResponse(409, b'{"reason": "Conflict", "message": "Operation cannot be fulfilled: the object has been '
                          b'modified; please apply your changes to the latest version"}'),
        FakeResponse(200, b'{"ok": 1}')], 2),
]


@pytest.mark.parametrize("case,answers,requests", RETRY_CASES, ids=[c[0] for c in RETRY_CASES])
def test_retries_then_succeeds(case, answers, requests):
    client, pool, clock = make_client(answers)
    assert client.request("GET", "/api/v1/pods") == {"ok": 1}
    assert client.request_count == requests
    assert len(clock.slept) == requests - 1
    assert pool.sent[0][2]["Authorization"] == "Bearer tok"


def test_retry_after_is_honoured():
    client, _pool, clock = make_client([FakeResponse(429, headers={"Retry-After": "2"}), FakeResponse(200)])
    client.request("GET", "/api/v1/pods")
    assert clock.slept == [2.0]


def test_retry_after_date_is_read_against_the_servers_date_header():
    # make chaos, "429 Retry-After date, server clock 1 h behind": retried at once before the fix.
    from email.utils import formatdate

    server_now = time.time() - 3600
    client, _pool, clock = make_client([FakeResponse(429, headers={
        "Retry-After": formatdate(server_now + 2, usegmt=True), "Date": formatdate(server_now, usegmt=True)}),
        FakeResponse(200)])
    client.request("GET", "/api/v1/pods")
    assert clock.slept == [2.0]


def test_retries_stop_at_the_deadline():
    client, _pool, clock = make_client([FakeResponse(503)] * 100, timeout=3)
    with pytest.raises(K8sApiError) as caught:
        client.request("GET", "/api/v1/pods")
    assert caught.value.status == 503
    assert clock.now <= 3


@pytest.mark.parametrize("status,body,retry", [
    (404, {}, False), (422, {}, False), (403, {}, False),
    (409, {"reason": "Conflict", "message": "Apply failed with 1 conflict"}, False),
    (409, {"reason": "AlreadyExists", "message": "object is being deleted: statefulsets \"db\" already exists"}, True),
    (502, {}, True), (504, {}, True)])
def test_is_retryable_status(status, body, retry):
    assert is_retryable_status(status, body) is retry


def test_backoff_is_jittered_exponential_and_capped():
    policy = RetryPolicy(60, base=0.2, cap=5.0, rand=lambda: 1.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 10)] == [0.2, 0.4, 0.8, 5.0]
    low = RetryPolicy(60, base=0.2, cap=5.0, rand=lambda: 0.0)
    assert low.backoff(3) == 0.4


def test_unreachable_server_fails_fast_with_the_address():
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    client, _pool, clock = make_client([refused] * 100, timeout=300, contacted=False)
    with pytest.raises(K8sUnreachableError) as caught:
        client.request("GET", "/version")
    assert "cannot reach the Kubernetes API server at https://127.0.0.1:6443 (connection refused)" in caught.value.msg
    assert clock.now <= k8s_client.FIRST_CONTACT_BUDGET


def test_after_first_contact_connection_errors_retry_until_deadline():
    refused = NewConnectionError(None, "Connection refused")
    client, _pool, clock = make_client([refused] * 20 + [FakeResponse(200, b"{}")], timeout=120)
    assert client.request("GET", "/version") == {}
    assert clock.now > k8s_client.FIRST_CONTACT_BUDGET


def write_kubeconfig(tmp_path, contexts=("dev", "prod")):
    config = {"apiVersion": "v1", "kind": "Config", "current-context": contexts[0],
              "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:7443"}}],
              "users": [{"name": "u", "user": {"token": "abc"}}],
              "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_kubeconfig_and_context(tmp_path):
    config = resolve_configuration({"kubeconfig": write_kubeconfig(tmp_path), "context": "prod"})
    assert config.host == "https://127.0.0.1:7443"
    assert config.auth_settings()["BearerToken"]["value"] == "Bearer abc"


def test_wrong_context_lists_the_available_ones(tmp_path):
    with pytest.raises(K8sConfigError, match="context: 'staging' is not in kubeconfig .*available contexts: dev, prod"):
        resolve_configuration({"kubeconfig": write_kubeconfig(tmp_path), "context": "staging"})


def test_missing_kubeconfig_file(tmp_path):
    with pytest.raises(K8sConfigError, match="kubeconfig: file .* does not exist"):
        resolve_configuration({"kubeconfig": str(tmp_path / "nope")})


def test_host_and_token_with_overrides(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    config = resolve_configuration({"host": "https://10.0.0.1:6443", "api_key": "t0k", "ca_cert": str(ca),
                                    "validate_certs": "false", "proxy": "http://127.0.0.1:3128"})
    assert config.host == "https://10.0.0.1:6443"
    assert config.auth_settings()["BearerToken"]["value"] == "Bearer t0k"
    assert config.ssl_ca_cert == str(ca)
    assert config.verify_ssl is False
    assert config.proxy == "http://127.0.0.1:3128"


def test_missing_ca_file_names_the_option(tmp_path):
    with pytest.raises(K8sConfigError, match="ca_cert: file .* does not exist"):
        resolve_configuration({"host": "https://10.0.0.1:6443", "ca_cert": str(tmp_path / "none.crt")})


def test_no_credentials_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(K8sConfigError, match="no Kubernetes credentials found"):
        resolve_configuration({})


def test_awx_environment_variables_reach_the_options(monkeypatch, tmp_path):
    """The argument spec maps every K8S_AUTH_* variable AWX sets to an option."""
    from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.common import AUTH_ARG_SPEC

    env_names = {spec["fallback"][1][0]: option for option, spec in AUTH_ARG_SPEC.items()}
    assert env_names == {
        "K8S_AUTH_KUBECONFIG": "kubeconfig", "K8S_AUTH_CONTEXT": "context", "K8S_AUTH_HOST": "host",
        "K8S_AUTH_API_KEY": "api_key", "K8S_AUTH_VERIFY_SSL": "validate_certs",
        "K8S_AUTH_SSL_CA_CERT": "ca_cert", "K8S_AUTH_CERT_FILE": "client_cert",
        "K8S_AUTH_KEY_FILE": "client_key", "K8S_AUTH_PROXY": "proxy", "K8S_AUTH_NO_PROXY": "no_proxy",
        "K8S_AUTH_IMPERSONATE_USER": "impersonate_user", "K8S_AUTH_IMPERSONATE_GROUPS": "impersonate_groups"}
    assert AUTH_ARG_SPEC["api_key"]["no_log"] is True


def test_inline_certificates_become_private_files(tmp_path):
    import base64

    config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:7443",
                                                     "certificate-authority-data": base64.b64encode(b"CA").decode(),
                                                     "tls-server-name": "kubernetes"}}],
              "users": [{"name": "u", "user": {"client-certificate-data": base64.b64encode(b"CERT").decode(),
                                               "client-key-data": base64.b64encode(b"KEY").decode()}}],
              "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    settings = resolve_configuration({"kubeconfig": config})
    assert settings.ca_cert_data == "CA" and settings.tls_server_name == "kubernetes"
    with open(settings.cert_file, "rb") as f:
        assert f.read() == b"CERT"
    assert oct(os.stat(settings.key_file).st_mode & 0o777) == "0o600"
    assert settings.auth_settings() == {}


def test_exec_credentials_are_run_by_the_collection_not_the_kubernetes_library(tmp_path):
    """The library's ExecProvider only logs a failing plugin; ours names it (see test_exec_credential.py)."""
    import json

    credential = json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                             "status": {"token": "from-exec"}})
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:7443"}}],
              "users": [{"name": "u", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                        "command": "/bin/echo", "args": [credential],
                                                        "interactiveMode": "Never"}}}],
              "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    settings = resolve_configuration({"kubeconfig": config})
    assert settings.delegate is None and settings.credential is not None
    assert settings.auth_settings()["BearerToken"]["value"] == "Bearer from-exec"


def test_in_cluster_service_account(monkeypatch, tmp_path):
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "ca.crt").write_text("CA")
    monkeypatch.setattr(k8s_config, "SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    settings = resolve_configuration({})
    assert settings.host == "https://10.96.0.1:443"
    assert settings.ssl_ca_cert == str(tmp_path / "ca.crt")
    assert settings.auth_settings()["BearerToken"]["value"] == "Bearer sa-token"


def test_client_module_does_not_import_kubernetes():
    import subprocess
    import sys

    code = ("import sys; import ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client; "
            "print('kubernetes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.stdout.strip() == "False", out.stderr


# -- what is retried (one policy, common/retry.py) and what fails at once --------------------------

def _reset():
    return ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))


def _eof():
    import http.client

    return ProtocolError("Connection aborted.", http.client.RemoteDisconnected(
        "Remote end closed connection without response"))


def _ssl_eof():
    import ssl

    from urllib3.exceptions import SSLError

    return SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:2427)"))


TRANSIENT_CASES = [
    ("EOF while the API server restarts", [_eof(), FakeResponse(200, b'{"ok": 1}')]),
    ("TLS EOF from a load balancer reset", [_ssl_eof(), FakeResponse(200, b'{"ok": 1}')]),
    ("connection reset", [_reset(), _reset(), FakeResponse(200, b'{"ok": 1}')]),
    ("502 from the load balancer", [FakeResponse(502), FakeResponse(200, b'{"ok": 1}')]),
    ("504", [FakeResponse(504), FakeResponse(200, b'{"ok": 1}')]),
    ("429 with an HTTP-date Retry-After", [FakeResponse(429, headers={"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}),
                                           FakeResponse(200, b'{"ok": 1}')]),
]


@pytest.mark.parametrize("case,answers", TRANSIENT_CASES, ids=[c[0] for c in TRANSIENT_CASES])
def test_transient_errors_are_retried(case, answers):
    client, pool, _clock = make_client(answers)
    assert client.request("GET", "/api/v1/pods") == {"ok": 1}
    assert len(pool.sent) == len(answers)


def test_one_deadline_bounds_every_call_of_the_task():
    client, _pool, clock = make_client([FakeResponse(503)] * 200, timeout=10)
    with pytest.raises(K8sApiError):
        client.request("GET", "/api/v1/pods")
    spent = clock.now
    with pytest.raises(K8sApiError):
        client.request("GET", "/api/v1/pods")
    assert clock.now <= 10 and spent > 5  # the second call did not get a fresh 10 s


def _gaierror():
    import socket

    from urllib3.exceptions import NameResolutionError

    return NameResolutionError("api.example.invalid", None, socket.gaierror(-2, "Name or service not known"))


def _cert_failure():
    import ssl

    from urllib3.exceptions import MaxRetryError, SSLError

    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                            "self-signed certificate (_ssl.c:1006)")
    return MaxRetryError(None, "/version", SSLError(cause))


@pytest.mark.parametrize("error,message", [
    (_cert_failure, "TLS verification of the API server https://127.0.0.1:6443 failed"),
    (_gaierror, "cannot resolve the API server's host name"),
], ids=["certificate does not verify", "DNS failure"])
@pytest.mark.parametrize("contacted", [False, True])
def test_certificate_and_dns_failures_are_not_retried(error, message, contacted):
    client, pool, clock = make_client([error()] * 10, timeout=300, contacted=contacted)
    with pytest.raises(K8sUnreachableError) as caught:
        client.request("GET", "/version")
    assert len(pool.sent) == 1 and clock.slept == []
    assert message in caught.value.msg
    for advice in ("validate_certs", "false", "disable", "insecure", "skip"):
        assert advice not in caught.value.msg.lower()


@pytest.mark.parametrize("body", [
    b'{"kind": "Status", "status": "Failure", "reason": "InternalError", "code": 500, "message": "failed to create '
    b'typed patch object (/db; apps/v1, Kind=StatefulSet): .spec.volumeClaimTemplates[0].spec.resources.requests.'
    b'storage: quantities must match the regular expression"}',
    b'{"kind": "Status", "code": 500, "message": "Internal error occurred: failed calling webhook: admission webhook '
    b'\\"validate.example.com\\" denied the request: invalid"}',
])
def test_a_500_that_refuses_the_input_is_not_retried(body):
    client, pool, _clock = make_client([FakeResponse(500, body)] * 10)
    with pytest.raises(K8sApiError) as caught:
        client.request("PATCH", "/apis/apps/v1/namespaces/ns/statefulsets/db")
    assert len(pool.sent) == 1 and caught.value.status == 500


def test_a_real_certificate_that_does_not_verify_fails_at_once(tmp_path):
    """A real TLS handshake against a self-signed server: one attempt, and no advice to stop verifying."""
    import shutil
    import ssl
    import subprocess
    import threading
    import http.server

    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make a self-signed certificate (make system-deps installs it)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = K8sClient.from_auth({"host": "https://127.0.0.1:%d" % server.server_address[1]}, timeout=60)
        client.contacted = True  # even mid-task, a certificate failure is not retried
        with pytest.raises(K8sUnreachableError) as caught:
            client.request("GET", "/version")
    finally:
        server.shutdown()
        server.server_close()
    assert client.request_count == 1
    assert "TLS verification of the API server" in caught.value.msg
    assert "validate_certs" not in caught.value.msg and "false" not in caught.value.msg
