# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the Cloud SQL modules, against the Admin API fake: each case fails with a message
naming the option and what to do, no traceback, within seconds although wait_timeout is 600, and
the fake's write log stays empty."""
import pytest

from conftest import assert_clean_failure, run_module_cases

ACCESS = "statefuldb.k8s.cloudsql_access"
USER = "statefuldb.k8s.cloudsql_user"
DB = "statefuldb.k8s.cloudsql_database"
INFO = "statefuldb.k8s.cloudsql_info"
CONN = "statefuldb.k8s.cloudsql_connection_check"

CASES = [
    ("access-instance-slash", ACCESS, {"instance": "orders/users", "ssl_mode": "ENCRYPTED_ONLY"},
     ["instance", "orders/users", "lowercase"]),
    ("access-instance-connection-name", ACCESS, {"instance": "statefuldb-test:europe-west1:orders"},
     ["instance", "give only its last part"]),
    ("access-instance-upper", ACCESS, {"instance": "Orders"}, ["instance", "lowercase"]),
    ("access-instance-empty", ACCESS, {"instance": ""}, ["instance is required"]),
    ("access-project-display-name", ACCESS, {"project": "My Project"}, ["project", "project ID"]),
    ("access-project-number", ACCESS, {"project": "123456789012"}, ["project", "starting with a letter"]),
    ("access-endpoint-no-scheme", ACCESS, {"api_endpoint": "sqladmin.googleapis.com"},
     ["api_endpoint", "https://sqladmin.googleapis.com/"]),
    ("access-endpoint-bad-port", ACCESS, {"api_endpoint": "https://127.0.0.1:99999/"}, ["api_endpoint", "port"]),
    ("access-network-not-cidr", ACCESS, {"authorized_networks": [{"value": "10.0.0.0/33"}]},
     ["authorized_networks"]),
    ("access-network-words", ACCESS, {"authorized_networks": [{"value": "my laptop"}]}, ["authorized_networks"]),
    ("access-exclusive-absent", ACCESS, {"state": "absent", "exclusive": True,
                                         "authorized_networks": [{"value": "192.0.2.1"}]},
     ["exclusive", "state: present"]),
    ("access-wait-timeout-zero", ACCESS, {"wait_timeout": 0}, ["wait_timeout", "positive"]),
    ("user-instance-slash", USER, {"instance": "orders/users", "name": "app", "password": "Pw-1"},
     ["instance", "orders/users"]),
    ("user-name-too-long", USER, {"name": "u" * 40, "password": "Pw-1"}, ["name", "at most 32"]),
    ("user-host-injection", USER, {"name": "app", "host": "h'; DROP DATABASE x; --", "password": "Pw-1"},
     ["host", "MySQL user host"]),
    ("user-iam-no-email", USER, {"name": "alice", "type": "CLOUD_IAM_USER"}, ["name", "email"]),
    ("user-iam-password", USER, {"name": "a@example.com", "type": "CLOUD_IAM_USER", "password": "x"},
     ["password is only for type BUILT_IN"]),
    ("user-name-slash", USER, {"name": "a/b", "password": "Pw-1"}, ["name", "'/'"]),
    ("db-name-injection", DB, {"name": "bad name;drop"}, ["name", "not a valid MySQL database name"]),
    ("db-name-slash", DB, {"name": "a/b"}, ["name", "database name"]),
    ("db-collation-mismatch", DB, {"name": "appdb", "charset": "utf8mb4", "collation": "latin1_swedish_ci"},
     ["collation", "charset"]),
    ("db-instance-slash", DB, {"instance": "orders/databases", "name": "appdb"}, ["instance", "orders/databases"]),
    ("info-instance-slash", INFO, {"instance": "orders/users"}, ["instance", "lowercase"]),
    ("info-endpoint-no-scheme", INFO, {"api_endpoint": "127.0.0.1:8080"}, ["api_endpoint", "scheme"]),
    ("info-project-empty", INFO, {"project": ""}, ["project is required"]),
]

# cloudsql_connection_check talks MySQL, not the Admin API: its cases never reach a server.
CONN_CASES = [
    ("conn-host-injection", CONN, {"login_host": "h'; --", "login_user": "app", "server_ca_cert": "x"},
     ["login_host", "host name or IP address"]),
    ("conn-port-range", CONN, {"login_host": "127.0.0.1", "login_port": 70000, "login_user": "app",
                               "server_ca_cert": "x"}, ["login_port", "1-65535"]),
    ("conn-database-bad", CONN, {"login_host": "127.0.0.1", "login_user": "app", "database": "a;b",
                                 "server_ca_cert": "x"}, ["database", "database name"]),
    ("conn-timeout-zero", CONN, {"login_host": "127.0.0.1", "login_user": "app", "connect_timeout": 0,
                                 "server_ca_cert": "x"}, ["connect_timeout", "at least 1"]),
    ("conn-ca-not-pem", CONN, {"login_host": "127.0.0.1", "login_user": "app", "server_ca_cert": "not a cert"},
     ["server_ca_cert", "PEM"]),
]


@pytest.fixture(scope="module")
def cloudsql_runs(fake_api, bad_gcp):
    gcp = bad_gcp
    base = dict(gcp)
    cases = []
    for case_id, module, args, expect in CASES:
        merged = dict(base, **args)
        cases.append({"id": case_id, "module": module, "args": merged, "expect": expect})
    for case_id, module, args, expect in CONN_CASES:
        cases.append({"id": case_id, "module": module, "args": args, "expect": expect})
    fake_api.wait_idle()
    writes_before = list(fake_api.writes)
    instance_before = fake_api.instance(gcp["project"], gcp["instance"])
    results = run_module_cases(cases)
    return {"cases": {c["id"]: c for c in cases}, "results": results, "writes_before": writes_before,
            "writes_after": list(fake_api.writes), "instance_before": instance_before,
            "instance_after": fake_api.instance(gcp["project"], gcp["instance"])}


@pytest.mark.parametrize("case_id", [c[0] for c in CASES + CONN_CASES])
def test_cloudsql_bad_input(cloudsql_runs, case_id):
    result, seconds = cloudsql_runs["results"][case_id]
    assert_clean_failure(cloudsql_runs["cases"][case_id], result, seconds)


def test_cloudsql_bad_input_wrote_nothing(cloudsql_runs):
    assert cloudsql_runs["writes_after"] == cloudsql_runs["writes_before"]
    assert cloudsql_runs["instance_after"] == cloudsql_runs["instance_before"]
