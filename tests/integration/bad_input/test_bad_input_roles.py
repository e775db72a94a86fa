# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the roles, through ansible-playbook (one run per role, each case in a block whose
rescue records the failure): each case fails with a message naming the variable and what to do,
no traceback, within seconds although the wait timeouts are 600, and nothing was written (the
namespace's objects keep their resourceVersion / the stand-in API server saw no write; the Admin
API fake's write log is unchanged)."""
import json
import socket
import uuid

import pytest

from conftest import run_role_cases

CLUSTER = "statefuldb.k8s.mysql_cluster"
ACCESS = "statefuldb.k8s.cloudsql_access"
MISSING_NS = "bad-input-missing-%s" % uuid.uuid4().hex[:6]

MYSQL_CLUSTER_CASES = [
    ("replicas-negative", {"mysql_cluster_replicas": -1}, ["mysql_cluster_replicas", "1 or more"]),
    ("replicas-zero", {"mysql_cluster_replicas": 0}, ["mysql_cluster_replicas", "1 or more"]),
    ("replicas-words", {"mysql_cluster_replicas": "three"}, ["mysql_cluster_replicas"]),
    ("storage-size-words", {"mysql_cluster_storage_size": "ten gigs"}, ["mysql_cluster_storage_size", "10Gi"]),
    ("storage-size-zero", {"mysql_cluster_storage_size": "0Gi"}, ["mysql_cluster_storage_size", "greater than zero"]),
    ("image-dict", {"mysql_cluster_image": {"repository": "mariadb", "tag": "10.11"}},
     ["mysql_cluster_image", "mariadb:10.11"]),
    ("image-space", {"mysql_cluster_image": "mariadb 10.11"}, ["mysql_cluster_image"]),
    ("storage-class", {"mysql_cluster_storage_class": "Bad Class!"}, ["mysql_cluster_storage_class", "storageclass"]),
    ("port-range", {"mysql_cluster_port": 70000}, ["mysql_cluster_port", "1 to 65535"]),
    ("name-upper", {"mysql_cluster_name": "My-Cluster"}, ["mysql_cluster_name", "lowercase"]),
    ("name-too-long", {"mysql_cluster_name": "m" * 60}, ["mysql_cluster_name", "at most 52"]),
    ("namespace-bad", {"mysql_cluster_namespace": "Bad_NS"}, ["mysql_cluster_namespace", "lowercase"]),
    ("service-name", {"mysql_cluster_service_name": "1svc"}, ["mysql_cluster_service_name", "starting with a letter"]),
    ("flavor-choice", {"mysql_cluster_flavor": "postgres"}, ["mysql_cluster_flavor", "mariadb, mysql"]),
    ("connect-choice", {"mysql_cluster_connect": "ssh"}, ["mysql_cluster_connect", "port_forward"]),
    ("resources-words", {"mysql_cluster_resources": {"limits": {"memory": "a lot"}}},
     ["mysql_cluster_resources", "256Mi"]),
    ("labels-number", {"mysql_cluster_labels": {"tier": 1}}, ["mysql_cluster_labels", "quote"]),
    ("retention-choice", {"mysql_cluster_pvc_retention_policy": {"whenScaled": "Keep"}},
     ["mysql_cluster_pvc_retention_policy", "Retain or Delete"]),
    ("replication-user", {"mysql_cluster_replication_user": "repl'--"}, ["mysql_cluster_replication_user"]),
    ("verify-database", {"mysql_cluster_verify_database": "bad;db"}, ["mysql_cluster_verify_database"]),
    ("reseed-unknown", {"mysql_cluster_reseed": ["mysql-7"]}, ["mysql_cluster_reseed", "mysql-7", "badinput-0, badinput-1"]),
    ("source-host", {"mysql_cluster_source_host": "h'; DROP DATABASE x; --"}, ["mysql_cluster_source_host"]),
    ("cluster-domain", {"mysql_cluster_cluster_domain": "Cluster Local"}, ["mysql_cluster_cluster_domain"]),
    ("wait-timeout-zero", {"mysql_cluster_wait_timeout": 0}, ["mysql_cluster_wait_timeout", "1 or more"]),
    ("secret-name", {"mysql_cluster_existing_secret": "My Secret"}, ["mysql_cluster_existing_secret"]),
    ("namespace-missing", {"mysql_cluster_namespace": MISSING_NS, "mysql_cluster_create_namespace": False},
     ["mysql_cluster_namespace", MISSING_NS, "does not exist", "mysql_cluster_create_namespace"]),
]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_role_failure(case_id, expect, record):
    text = json.dumps(record, default=str)
    print("\n[%s] %.1fs %s" % (case_id, float(record.get("seconds") or 0), record.get("msg")))
    assert record.get("failed"), "case %s did not fail: %s" % (case_id, text[:2000])
    msg = record["msg"]
    for word in expect:
        assert word.lower() in msg.lower(), "case %s: %r not in %r" % (case_id, word, msg)
    assert "hidden due to no_log" not in msg, "case %s: message censored" % case_id
    assert "Traceback (most recent call last)" not in text, text[:3000]
    assert "sandbox" not in msg.lower() and "sandbox" not in record.get("task", "").lower()
    assert float(record["seconds"]) < 20, "case %s took %ss" % (case_id, record["seconds"])


@pytest.fixture(scope="module")
def mysql_cluster_runs(k8s_target):
    base = {"mysql_cluster_namespace": k8s_target.namespace, "mysql_cluster_kubeconfig": k8s_target.kubeconfig,
            "mysql_cluster_wait_timeout": 600, "mysql_cluster_name": "badinput"}
    cases = [{"id": case_id, "vars": dict(base, **extra)} for case_id, extra, dummy in MYSQL_CLUSTER_CASES]
    # The reachability probe: a member nothing answers for (a closed loopback port).
    cases.append({"id": "unreachable-members", "tasks_from": "reach.yml", "vars": dict(
        base, mysql_cluster_connect="address", mysql_cluster_connect_timeout=2,
        __mysql_cluster_members=[{"name": "badinput-0", "host": "127.0.0.1", "port": _free_port(),
                                  "primary": True}])})
    before = k8s_target.snapshot()
    run, report = run_role_cases(CLUSTER, cases)
    return {"report": report, "run": run, "before": before, "after": k8s_target.snapshot()}


@pytest.mark.parametrize("case_id,expect", [(c[0], c[2]) for c in MYSQL_CLUSTER_CASES])
def test_mysql_cluster_role_bad_input(mysql_cluster_runs, case_id, expect):
    record = mysql_cluster_runs["report"].get(case_id)
    assert record, "no record for %s: %s" % (case_id, mysql_cluster_runs["run"].stdout[-3000:])
    _assert_role_failure(case_id, expect, record)


def test_mysql_cluster_role_unreachable_members_name_the_modes_that_work(mysql_cluster_runs):
    record = mysql_cluster_runs["report"].get("unreachable-members")
    assert record, mysql_cluster_runs["run"].stdout[-3000:]
    _assert_role_failure("unreachable-members", ["mysql_cluster_connect", "badinput-0", "port_forward",
                                                 "mysql_cluster_addresses", "address mode"], record)


def test_mysql_cluster_role_bad_input_wrote_nothing(mysql_cluster_runs):
    assert mysql_cluster_runs["after"] == mysql_cluster_runs["before"]


CLOUDSQL_ACCESS_CASES = [
    ("instance-missing", {"cloudsql_access_instance": None}, ["cloudsql_access_instance"]),
    ("instance-empty", {"cloudsql_access_instance": ""}, ["cloudsql_access_instance", "orders-db"]),
    ("instance-slash", {"cloudsql_access_instance": "orders/users"}, ["cloudsql_access_instance", "without the project"]),
    ("project-bad", {"cloudsql_access_project": "My Project"}, ["cloudsql_access_project", "GCP_PROJECT"]),
    ("endpoint-no-scheme", {"cloudsql_access_api_endpoint": "sqladmin.googleapis.com"},
     ["cloudsql_access_api_endpoint", "https://"]),
    ("ssl-mode-choice", {"cloudsql_access_ssl_mode": "REQUIRED"}, ["cloudsql_access_ssl_mode", "ENCRYPTED_ONLY"]),
    ("user-no-password", {"cloudsql_access_users": [{"name": "app"}]},
     ["cloudsql_access_users[0]", "password is required"]),
    ("user-name-long", {"cloudsql_access_users": [{"name": "u" * 40, "password": "Pw-1"}]},
     ["cloudsql_access_users[0]", "32"]),
    ("user-host-injection", {"cloudsql_access_users": [{"name": "app", "password": "Pw-1", "host": "h'; --"}]},
     ["cloudsql_access_users[0]", "host"]),
    ("user-typo-key", {"cloudsql_access_users": [{"name": "app", "pasword": "Pw-1"}]}, ["pasword"]),
    ("user-type-choice", {"cloudsql_access_users": [{"name": "app", "password": "x", "type": "ADMIN"}]},
     ["type", "BUILT_IN"]),
    ("database-injection", {"cloudsql_access_databases": [{"name": "bad name;drop"}]},
     ["cloudsql_access_databases[0].name", "database name"]),
    ("port-range", {"cloudsql_access_port": 70000}, ["cloudsql_access_port", "1 to 65535"]),
    ("wait-timeout-zero", {"cloudsql_access_wait_timeout": 0}, ["cloudsql_access_wait_timeout", "1 or more"]),
    ("secret-user-unknown", {"cloudsql_access_users": [{"name": "app", "password": "Pw-1"}],
                             "cloudsql_access_secret_user": "other"}, ["cloudsql_access_secret_user", "listed there"]),
    ("secret-namespace", {"cloudsql_access_secret_namespace": "Bad NS"}, ["cloudsql_access_secret_namespace"]),
]


@pytest.fixture(scope="module")
def cloudsql_access_runs(fake_api, bad_gcp):
    base = {"cloudsql_access_project": bad_gcp["project"], "cloudsql_access_instance": bad_gcp["instance"],
            "cloudsql_access_auth_kind": "serviceaccount",
            "cloudsql_access_service_account_file": bad_gcp["service_account_file"],
            "cloudsql_access_api_endpoint": bad_gcp["api_endpoint"], "cloudsql_access_wait_timeout": 600,
            "cloudsql_access_ssl_mode": "ENCRYPTED_ONLY", "cloudsql_access_secret_name": "",
            "cloudsql_access_verify_connection": False}
    cases = []
    for case_id, extra, dummy in CLOUDSQL_ACCESS_CASES:
        merged = dict(base, **extra)
        merged = {k: v for k, v in merged.items() if v is not None}
        cases.append({"id": case_id, "vars": merged})
    fake_api.wait_idle()
    before = list(fake_api.writes)
    instance_before = fake_api.instance(bad_gcp["project"], bad_gcp["instance"])
    run, report = run_role_cases(ACCESS, cases)
    return {"report": report, "run": run, "before": before, "after": list(fake_api.writes),
            "instance_before": instance_before,
            "instance_after": fake_api.instance(bad_gcp["project"], bad_gcp["instance"])}


@pytest.mark.parametrize("case_id,expect", [(c[0], c[2]) for c in CLOUDSQL_ACCESS_CASES])
def test_cloudsql_access_role_bad_input(cloudsql_access_runs, case_id, expect):
    record = cloudsql_access_runs["report"].get(case_id)
    assert record, "no record for %s: %s" % (case_id, cloudsql_access_runs["run"].stdout[-3000:])
    _assert_role_failure(case_id, expect, record)


def test_cloudsql_access_role_bad_input_wrote_nothing(cloudsql_access_runs):
    assert cloudsql_access_runs["after"] == cloudsql_access_runs["before"]
    assert cloudsql_access_runs["instance_after"] == cloudsql_access_runs["instance_before"]
