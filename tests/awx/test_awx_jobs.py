# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks run as AWX runs them: ansible-runner on a private data directory with AWX's
credential injection (awx_job.py), a Kubernetes token with only awx/rbac.yml's permissions, and
the Cloud SQL Admin API fake. Each job must succeed, report a result for every task it started,
and leave no secret in any event or artifact."""

import os
import stat

import pytest

import awx_job

HERE = os.path.dirname(os.path.abspath(__file__))
# ansible-runner's own record of the job's environment (it holds the injected token, as AWX's
# job environment does). AWX deletes it with the private data directory; it must stay 0600.
RUNNER_COMMAND_FILE = os.path.join("job", "command")


def check_job(runner, private_data_dir, expected_tasks, secrets):
    failures = [(e["event_data"].get("task"), e["event_data"].get("res", {}).get("msg"))
                for e in runner.events if e["event"] in ("runner_on_failed", "runner_on_unreachable")]
    assert runner.status == "successful" and runner.rc == 0, (runner.status, failures)
    started, results = awx_job.task_results(runner)
    missing = [name for name in expected_tasks if not any(s.startswith(name) for s in started)]
    assert not missing, "tasks without a start event: %s (started: %s)" % (missing, started)
    no_result = [name for name in started if not results.get(name)]
    assert not no_result, "tasks without a result event: %s" % no_result
    failed = {name: r for name, r in results.items() if {"runner_on_failed", "runner_on_unreachable"} & set(r)}
    assert not failed, failed
    stats = [e for e in runner.events if e["event"] == "playbook_on_stats"]
    assert stats and not stats[-1]["event_data"]["failures"], stats
    fragments = [f for secret in secrets for f in awx_job.secret_fragments(secret)]
    artifacts = os.path.join(private_data_dir, "artifacts")
    leaks = awx_job.files_containing(artifacts, fragments, skip={RUNNER_COMMAND_FILE})
    assert not leaks, "secrets in artifacts: %s" % leaks
    # The search finds a secret where there is one: the token (secrets[0]) is in the command file.
    assert any(hit.startswith(RUNNER_COMMAND_FILE) for hit in awx_job.files_containing(
        artifacts, awx_job.secret_fragments(secrets[0]))), "the secret search found nothing even in the command file"
    command_file = os.path.join(artifacts, RUNNER_COMMAND_FILE)
    assert stat.S_IMODE(os.stat(command_file).st_mode) == 0o600
    return started


def test_token_has_only_the_documented_rbac(k8s_credential, tmp_path):
    """The jobs' token is not an admin's: outside its namespace, or beyond awx/rbac.yml, it is refused."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException
    inputs = k8s_credential["inputs"]
    conf = client.Configuration()
    conf.host = inputs["host"]
    conf.api_key = {"authorization": "Bearer " + inputs["bearer_token"]}
    conf.ssl_ca_cert = str(tmp_path / "ca.pem")
    (tmp_path / "ca.pem").write_text(inputs["ssl_ca_cert"])
    core = client.CoreV1Api(client.ApiClient(conf))
    core.list_namespaced_secret(k8s_credential["namespace"])
    for call in (lambda: core.list_namespaced_secret("default"), core.list_node,
                 lambda: core.list_namespaced_service_account(k8s_credential["namespace"])):
        with pytest.raises(ApiException) as refused:
            call()
        assert refused.value.status == 403


def test_cloudsql_access_job(private_data_dir, admin_api, fake_api, gce_credential, k8s_credential, tls_material):
    from statefuldb_dev.cloudsql_support import PROJECT
    fake_api.add_instance(PROJECT, "awx-db", public_ip="127.0.0.1", server_ca_pem=tls_material["ca_pem"])
    password = "Pw-awx-7f3e9c1b5d"
    extravars = {
        "cloudsql_access_instance": "awx-db",
        "cloudsql_access_api_endpoint": fake_api.base_url,
        "cloudsql_access_wait_timeout": 30,
        "cloudsql_access_authorized_networks": [{"name": "office", "value": "203.0.113.0/24"}],
        "cloudsql_access_ssl_mode": "ENCRYPTED_ONLY",
        "cloudsql_access_users": [{"name": "app", "password": password}],
        "cloudsql_access_databases": [{"name": "appdb"}],
        "cloudsql_access_secret_name": "cloudsql-connection",
        "cloudsql_access_secret_namespace": k8s_credential["namespace"],
        # No MySQL server behind the fake here; the TLS login is covered by tests/integration/cloudsql.
        "cloudsql_access_verify_connection": False,
    }
    awx_job.prepare(private_data_dir, extravars, k8s=k8s_credential, gce=gce_credential)
    runner = awx_job.run(private_data_dir, "cloudsql_access.yml")
    check_job(runner, private_data_dir, ["Authorize networks and set the SSL mode", "Ensure users", "Ensure databases",
                                         "Write the connection Secret"],
              [k8s_credential["inputs"]["bearer_token"], gce_credential["inputs"]["ssh_key_data"], password])
    assert [(e["name"], e["value"]) for e in fake_api.authorized_networks(PROJECT, "awx-db")] == [
        ("office", "203.0.113.0/24")]
    # The Secret was written with the ServiceAccount's token (awx/rbac.yml allows secrets).
    from kubernetes import client
    secret = client.CoreV1Api(admin_api).read_namespaced_secret("cloudsql-connection", k8s_credential["namespace"])
    assert sorted(secret.data) and "password" in " ".join(secret.data), sorted(secret.data)


def test_statefulset_job_on_kwok_nodes(private_data_dir, k8s_credential):
    extravars = {"web_namespace": k8s_credential["namespace"]}
    awx_job.prepare(private_data_dir, extravars, k8s=k8s_credential,
                    extra_playbooks={"statefulset_kwok.yml": os.path.join(HERE, "playbooks", "statefulset_kwok.yml")})
    runner = awx_job.run(private_data_dir, "statefulset_kwok.yml")
    check_job(runner, private_data_dir,
              ["Headless Service", "StatefulSet, waiting for ordered readiness", "StatefulSet again (no change)",
               "Members", "Check the members and idempotence", "Remove the StatefulSet", "Remove the Service"],
              [k8s_credential["inputs"]["bearer_token"]])


def test_teardown_job_on_a_namespace_without_a_cluster(private_data_dir, k8s_credential):
    extravars = {"mysql_cluster_namespace": k8s_credential["namespace"], "mysql_cluster_name": "nothing-here",
                 "delete_data": True}
    awx_job.prepare(private_data_dir, extravars, k8s=k8s_credential)
    runner = awx_job.run(private_data_dir, "mysql_cluster_teardown.yml")
    started = check_job(runner, private_data_dir, ["Delete the headless Service"],
                        [k8s_credential["inputs"]["bearer_token"]])
    stats = [e for e in runner.events if e["event"] == "playbook_on_stats"][-1]["event_data"]
    assert not stats["changed"], (stats, started)


def test_mysql_cluster_job(private_data_dir, k8s_credential):
    extravars = {"mysql_cluster_namespace": k8s_credential["namespace"], "mysql_cluster_name": "mysql",
                 "mysql_cluster_replicas": 2, "mysql_cluster_wait_timeout": 300,
                 "mysql_cluster_image": "localhost/statefuldb/mariadb:11.8"}
    awx_job.prepare(private_data_dir, extravars, k8s=k8s_credential)
    runner = awx_job.run(private_data_dir, "mysql_cluster.yml")
    check_job(runner, private_data_dir, [], [k8s_credential["inputs"]["bearer_token"]])
    teardown_dir = private_data_dir + "-teardown"
    awx_job.prepare(teardown_dir, dict(extravars, delete_data=True), k8s=k8s_credential)
    check_job(awx_job.run(teardown_dir, "mysql_cluster_teardown.yml"), teardown_dir, [],
              [k8s_credential["inputs"]["bearer_token"]])
