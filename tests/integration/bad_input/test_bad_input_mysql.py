# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to mysql_replication and mysql_cluster_check, logging in to a real MariaDB: each case
fails with a message naming the option, no traceback, within seconds although wait_timeout is 600,
and the canary server is intact (its data, accounts, replication settings, read_only and GTIDs)."""
import pytest

from conftest import assert_clean_failure, canary_state, run_module_cases

REPL = "statefuldb.k8s.mysql_replication"
CHECK = "statefuldb.k8s.mysql_cluster_check"


def replica(**args):
    base = {"role": "replica", "source_host": "db-0.db", "replication_user": "replicator",
            "replication_password": "Repl-Pw-1", "wait_timeout": 600, "read_only": True}
    base.update(args)
    return base


def primary(**args):
    base = {"role": "primary", "replication_user": "replicator", "replication_password": "Repl-Pw-1",
            "read_only": False}
    base.update(args)
    return base


CASES = [
    ("repl-source-host-injection", REPL, replica(source_host="h'; DROP DATABASE canary; --"),
     ["source_host", "host name or IP address"]),
    ("repl-source-host-space", REPL, replica(source_host="db 0"), ["source_host", "host name"]),
    ("repl-source-host-url", REPL, replica(source_host="mysql://db-0:3306"), ["source_host"]),
    ("repl-source-host-blank", REPL, replica(source_host="  "), ["source_host"]),
    ("repl-source-login-host", REPL, replica(source_login_host="a;b"), ["source_login_host"]),
    ("repl-source-port", REPL, replica(source_port=70000), ["source_port", "1-65535"]),
    ("repl-user-quote", REPL, replica(replication_user="repl'--"), ["replication_user", "account name"]),
    ("repl-user-too-long", REPL, primary(replication_user="r" * 90), ["replication_user", "at most"]),
    ("repl-user-host", REPL, primary(replication_user_host="10.0.0.%'; --"), ["replication_user_host", "%"]),
    ("repl-login-user", REPL, primary(login_user="root'#"), ["login_user", "account name"]),
    ("repl-wait-timeout", REPL, replica(wait_timeout=0), ["wait_timeout", "at least 1"]),
    ("repl-missing-source", REPL, {"role": "replica", "replication_user": "r", "replication_password": "p"},
     ["source_host"]),
    ("check-member-host", CHECK, {"action": "wait", "members": [{"name": "m0", "host": "h'; --", "primary": True}]},
     ["members[0].host"]),
    ("check-member-port", CHECK, {"action": "wait", "members": [{"name": "m0", "host": "127.0.0.1", "port": 0}]},
     ["members[0].port", "1-65535"]),
    ("check-database", CHECK, {"action": "verify", "database": "bad;db",
                               "members": [{"name": "m0", "host": "127.0.0.1", "primary": True}]},
     ["database", "database name"]),
    ("check-timeout", CHECK, {"action": "wait", "timeout": 0, "members": [{"name": "m0", "host": "127.0.0.1"}]},
     ["timeout", "at least 1"]),
    ("check-no-members", CHECK, {"action": "wait", "members": []}, ["members", "primary"]),
    # TLS files: named before any connection (not a PyMySQL error, not retried until the timeout).
    ("repl-ca-missing", REPL, primary(ca_cert="/nonexistent/ca.pem"), ["ca_cert", "/nonexistent/ca.pem is not a file"]),
    ("repl-key-without-cert", REPL, primary(client_key="/etc/hostname"), ["client_key is set without client_cert"]),
    ("check-ca-not-pem", CHECK, {"action": "wait", "ca_cert": "/etc/hostname",
                                 "members": [{"name": "m0", "host": "127.0.0.1", "primary": True}]},
     ["ca_cert", "holds no PEM certificate"]),
]


@pytest.fixture(scope="module")
def mysql_runs(canary_mariadb):
    login = canary_mariadb.login()
    cases = []
    for case_id, module, args, expect in CASES:
        if module == REPL:
            args = dict(login, **args)
        else:
            args = dict({"login_user": "root", "login_password": canary_mariadb.root_password}, **args)
            for member in args["members"]:
                member.setdefault("port", canary_mariadb.port)
        cases.append({"id": case_id, "module": module, "args": args, "expect": expect})
    before = canary_state(canary_mariadb)
    results = run_module_cases(cases)
    return {"cases": {c["id"]: c for c in cases}, "results": results, "before": before,
            "after": canary_state(canary_mariadb)}


@pytest.mark.parametrize("case_id", [c[0] for c in CASES])
def test_mysql_bad_input(mysql_runs, case_id):
    result, seconds = mysql_runs["results"][case_id]
    case = mysql_runs["cases"][case_id]
    assert_clean_failure(case, result, seconds)
    # Refused before any statement: no query ran.
    assert not result.get("queries"), result.get("queries")


def test_mysql_bad_input_left_the_canary_intact(mysql_runs):
    assert mysql_runs["after"] == mysql_runs["before"]
    assert mysql_runs["after"]["rows"] and mysql_runs["after"]["replica"] is None
