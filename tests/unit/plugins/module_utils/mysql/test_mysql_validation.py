"""Table-driven tests of plugins/module_utils/mysql/validation.py."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql import validation as v
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.replication import validate


@pytest.mark.parametrize("host,ok", [
    ("db-0.db.data.svc.cluster.local", True), ("10.0.0.5", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("mysql-0.mysql", True), ("host.", True), ("under_score", True),
    ("h'; DROP DATABASE x; --", False), ("a b", False), ("", False), ("-lead", False), ("a..b", False),
    ("a" * 64 + ".com", False), ("x" * 256, False), ("host:3306", False), ("http://db", False)])
def test_host(host, ok):
    error = v.host_error(host, "source_host")
    assert (error is None) == ok
    if not ok:
        assert error.startswith("source_host")


@pytest.mark.parametrize("user,ok", [("replicator", True), ("repl_user-1", True), ("a" * 80, True),
                                     ("a" * 81, False), ("re'pl", False), ("a b", False), ("x;y", False),
                                     ("", False), ("back\\slash", False)])
def test_user(user, ok):
    assert (v.user_error(user, "replication_user") is None) == ok


@pytest.mark.parametrize("host,ok", [("%", True), ("10.0.%", True), ("10.0.0.0/255.255.0.0", True),
                                     ("db.example.com", True), ("h'x", False), ("", False), ("a b", False)])
def test_account_host(host, ok):
    assert (v.account_host_error(host, "replication_user_host") is None) == ok


def _params(**extra):
    params = {"role": "replica", "source_host": "db-0.db", "source_port": 3306, "login_host": "127.0.0.1",
              "login_port": 3306, "replication_user": "replicator", "replication_user_host": "%",
              "wait_timeout": 300, "connect_timeout": 5}
    params.update(extra)
    return params


@pytest.mark.parametrize("extra,field", [
    ({"source_host": "h'; DROP DATABASE x; --"}, "source_host"),
    ({"login_host": "bad host"}, "login_host"),
    ({"source_login_host": "a;b"}, "source_login_host"),
    ({"replication_user": "re'pl"}, "replication_user"),
    ({"replication_user_host": "x'y"}, "replication_user_host"),
    ({"source_port": 70000}, "source_port"),
    ({"login_port": 0}, "login_port"),
    ({"login_user": "root'--"}, "login_user"),
])
def test_replication_validate_names_the_option(extra, field):
    with pytest.raises(MySQLReplicationError) as info:
        validate(_params(**extra))
    assert info.value.msg.startswith(field)


def test_replication_validate_accepts_good_input():
    validate(_params())


@pytest.mark.parametrize("params,field", [
    ({"members": [{"name": "m", "host": "bad host", "port": 3306}]}, "members[0].host"),
    ({"members": [{"name": "m", "host": "10.0.0.1", "port": 0}]}, "members[0].port"),
    ({"members": [{"name": "m", "host": "10.0.0.1", "port": 3306}], "database": "bad;db"}, "database"),
    ({"members": [{"name": "m", "host": "10.0.0.1", "port": 3306}], "timeout": 0}, "timeout"),
    ({"members": []}, "members"),
])
def test_cluster_check_params(params, field):
    base = {"login_user": "root", "connect_timeout": 5, "timeout": 300, "database": "statefuldb_cluster"}
    base.update(params)
    assert v.cluster_check_params_error(base).startswith(field)


def test_connection_params():
    good = {"login_host": "127.0.0.1", "login_port": 3306, "login_user": "app", "database": "appdb",
            "connect_timeout": 10}
    assert v.connection_params_error(good) is None
    assert v.connection_params_error(dict(good, login_host="x y")).startswith("login_host")
    assert v.connection_params_error(dict(good, connect_timeout=0)).startswith("connect_timeout")
