"""Exec credential plugins and auth-providers through the loader: a failing plugin is a message, never its stdout.

Each plugin is a small shell script in tmp_path named by a kubeconfig user's exec.command, as
gke-gcloud-auth-plugin or ``aws eks get-token`` would be.
"""
import json
import os

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s import exec_credential
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sClient
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.config import resolve_configuration
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sConfigError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.kubeconfig import load_kubeconfig

SECRET = "s3cr3t-token-from-stdout"
API = "client.authentication.k8s.io/v1beta1"


def credential(token=SECRET, expires=None, **status):
    status = dict({"token": token} if token else {}, **status)
    if expires:
        status["expirationTimestamp"] = expires
    return json.dumps({"apiVersion": API, "kind": "ExecCredential", "status": status})


def plugin(tmp_path, body, name="gke-gcloud-auth-plugin"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def kubeconfig(command, server="https://127.0.0.1:7443", **exec_fields):
    exec_config = dict({"apiVersion": API, "command": command, "args": ["--cluster", "prod"]}, **exec_fields)
    return {"apiVersion": "v1", "kind": "Config", "current-context": "gke",
            "clusters": [{"name": "gke", "cluster": {"server": server}}],
            "users": [{"name": "gke-admin", "user": {"exec": exec_config}}],
            "contexts": [{"name": "gke", "context": {"cluster": "gke", "user": "gke-admin"}}]}


def failure(config, **auth):
    with pytest.raises(K8sConfigError) as caught:
        resolve_configuration(dict({"kubeconfig": config}, **auth), environ={})
    return caught.value.msg


# -- failures -------------------------------------------------------------------------------------

def test_a_plugin_that_exits_1_names_user_command_status_and_the_end_of_its_stderr(tmp_path):
    command = plugin(tmp_path, "echo '%s'\n" % credential()
                     + "for n in a b c d e f g h i j k; do echo \"noise $n\" >&2; done\n"
                     + "echo 'ERROR: gcloud credentials expired; run gcloud auth login' >&2\nexit 1")
    msg = failure(kubeconfig(command))
    assert "kubeconfig user 'gke-admin'" in msg
    assert "`%s --cluster prod`" % command in msg
    assert "exited with status 1" in msg
    assert "ERROR: gcloud credentials expired; run gcloud auth login" in msg
    assert "noise d" not in msg and "noise e | noise f" in msg  # the last 8 lines only
    assert SECRET not in msg


def test_a_missing_plugin_says_to_install_it_where_the_module_runs(tmp_path):
    missing = str(tmp_path / "aws-iam-authenticator")
    msg = failure(kubeconfig(missing, installHint="aws-iam-authenticator is required; see docs.aws.amazon.com"))
    assert "kubeconfig user 'gke-admin'" in msg
    assert "%r not found on the PATH" % missing in msg
    assert "controller" in msg and "execution environment" in msg and "bindep" in msg
    assert "aws-iam-authenticator is required; see docs.aws.amazon.com" in msg


def test_a_plugin_name_not_on_the_path_is_named(tmp_path):
    msg = failure(kubeconfig("gke-gcloud-auth-plugin-not-installed-here"))
    assert "'gke-gcloud-auth-plugin-not-installed-here' not found" in msg
    assert "additional_build_steps" in msg


def test_a_wrapper_whose_inner_command_is_missing_exits_127_with_the_install_advice(tmp_path):
    msg = failure(kubeconfig(plugin(tmp_path, "exec aws-cli-not-installed-here eks get-token", name="aws-wrapper")))
    assert "exited with status 127" in msg and "aws-cli-not-installed-here" in msg
    assert "execution environment" in msg


def test_a_plugin_that_prints_garbage_is_a_message_without_its_stdout(tmp_path):
    command = plugin(tmp_path, "echo 'token: %s (not json)'\necho 'warning: deprecated flag' >&2" % SECRET)
    msg = failure(kubeconfig(command))
    assert "kubeconfig user 'gke-admin'" in msg and command in msg
    assert "exited with status 0 but its output is not ExecCredential JSON" in msg
    assert "warning: deprecated flag" in msg
    assert SECRET not in msg


def test_a_plugin_file_that_is_not_executable_is_named(tmp_path):
    command = plugin(tmp_path, "exit 0")
    os.chmod(command, 0o644)
    msg = failure(kubeconfig(command))
    assert "kubeconfig user 'gke-admin'" in msg and "cannot run: Permission denied" in msg


def test_a_plugin_waiting_for_an_interactive_login_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(exec_credential, "EXEC_TIMEOUT", 1)
    msg = failure(kubeconfig(plugin(tmp_path, "echo 'open https://login.example to log in' >&2\nexec sleep 30")))
    assert "did not finish within 1 s" in msg and "log in before the play runs" in msg


@pytest.mark.parametrize("output, expected", [
    (json.dumps({"apiVersion": API, "kind": "ExecCredential", "status": {"expirationTimestamp": SECRET}}),
     "neither a token nor clientCertificateData"),
    (json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                 "status": {"token": SECRET}}), "answered with apiVersion 'client.authentication.k8s.io/v1'"),
    (json.dumps([SECRET]), "printed no ExecCredential with a status"),
])
def test_an_answer_that_is_not_a_credential_is_named(tmp_path, output, expected):
    msg = failure(kubeconfig(plugin(tmp_path, "cat <<'EOF'\n%s\nEOF" % output)))
    assert expected in msg and SECRET not in msg


def test_a_kubeconfig_exec_without_api_version_is_named():
    config = kubeconfig("gke-gcloud-auth-plugin")
    del config["users"][0]["user"]["exec"]["apiVersion"]
    assert "kubeconfig user 'gke-admin': exec has no apiVersion" in failure(config)


def test_api_key_replaces_the_plugin_so_a_broken_plugin_does_not_matter(tmp_path):
    settings = resolve_configuration({"kubeconfig": kubeconfig(plugin(tmp_path, "exit 1")), "api_key": "k"}, environ={})
    assert settings.auth_settings()["BearerToken"]["value"] == "Bearer k"


def test_an_auth_provider_command_that_is_missing_names_user_provider_and_command():
    pytest.importorskip("kubernetes")
    config = kubeconfig("unused")
    config["users"][0]["user"] = {"auth-provider": {"name": "gcp", "config": {"cmd-path": "gcloud-not-installed-here"}}}
    msg = failure(config)
    assert "kubeconfig user 'gke-admin': its auth-provider 'gcp' failed" in msg
    assert "'gcloud-not-installed-here' not found" in msg and "execution environment" in msg


def test_an_auth_provider_command_that_fails_shows_its_stderr(tmp_path):
    pytest.importorskip("kubernetes")
    config = kubeconfig("unused")
    command = plugin(tmp_path, "echo '%s'\necho 'gcloud: you are offline' >&2\nexit 2" % SECRET, name="gcloud")
    config["users"][0]["user"] = {"auth-provider": {"name": "gcp", "config": {"cmd-path": command}}}
    msg = failure(config)
    assert "kubeconfig user 'gke-admin': its auth-provider 'gcp' failed" in msg
    assert "gcloud: you are offline" in msg and SECRET not in msg


# -- success ----------------------------------------------------------------------------------------

def test_a_working_plugin_token_is_sent_to_the_api_server(tmp_path, api_recorder):
    server, requests = api_recorder
    seen, project = tmp_path / "exec-info.json", tmp_path / "project"
    command = plugin(tmp_path, "printf '%%s' \"$KUBERNETES_EXEC_INFO\" > %s\nprintf '%%s' \"$PROJECT\" > %s\n"
                     "cat <<'EOF'\n%s\nEOF" % (seen, project, credential()))
    config = kubeconfig(command, server=server, env=[{"name": "PROJECT", "value": "p1"}], provideClusterInfo=True)
    client = K8sClient.from_auth({"kubeconfig": config})
    assert client.request("GET", "/version") == {}
    assert [headers.get("Authorization") for unused, headers in requests] == ["Bearer " + SECRET]
    info = json.loads(seen.read_text())
    assert info["kind"] == "ExecCredential" and info["spec"]["interactive"] is False
    assert info["spec"]["cluster"]["server"] == server
    assert project.read_text() == "p1"  # the kubeconfig's exec env


def test_an_expired_token_runs_the_plugin_again(tmp_path):
    count = tmp_path / "count"
    command = plugin(tmp_path, "echo x >> %s\nn=$(wc -l < %s | tr -d ' ')\ncat <<EOF\n%s\nEOF"
                     % (count, count, credential(token="t-$n", expires="2030-01-01T00:00:00.123456789Z")))
    settings = load_kubeconfig(kubeconfig(command), None, environ={})
    assert settings.auth_settings()["BearerToken"]["value"] == "Bearer t-1"
    assert settings.auth_settings()["BearerToken"]["value"] == "Bearer t-1"  # not expired: not run again
    settings.credential.clock = lambda: 1893456000.0  # 2030-01-01T00:00:00Z, within the margin
    assert settings.auth_settings()["BearerToken"]["value"] == "Bearer t-2"


def test_a_client_certificate_plugin_gives_the_pool_its_certificate_files(tmp_path):
    command = plugin(tmp_path, "cat <<'EOF'\n%s\nEOF" % credential(
        token=None, clientCertificateData="-----BEGIN CERTIFICATE-----\nC\n", clientKeyData="KEY\n"))
    settings = load_kubeconfig(kubeconfig(command), None, environ={})
    assert settings.auth_settings() == {}
    with open(settings.cert_file) as cert, open(settings.key_file) as key:
        assert cert.read().startswith("-----BEGIN CERTIFICATE-----") and key.read() == "KEY\n"
    assert os.path.dirname(settings.cert_file) != str(tmp_path)


def test_a_token_in_the_kubeconfig_wins_over_the_plugin(tmp_path):
    config = kubeconfig(plugin(tmp_path, "exit 1"))
    config["users"][0]["user"]["token"] = "static"
    assert load_kubeconfig(config, None, environ={}).auth_settings()["BearerToken"]["value"] == "Bearer static"
