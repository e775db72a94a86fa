"""mysql_cluster_check main(): the shared connection path (TLS options reach it), wait and failures (no server)."""
import ssl

import pymysql
import pytest

from ansible_collections.statefuldb.k8s.plugins.modules import mysql_cluster_check
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError

MEMBERS = [{"name": "db-0", "host": "10.0.0.10", "primary": True}, {"name": "db-1", "host": "10.0.0.11"}]


class Conn:
    def __init__(self, server_id):
        self.server_id = server_id

    def cursor(self):
        return self

    def execute(self, sql, args=None):
        self.sql = sql

    def fetchone(self):
        if "gtid" in self.sql:
            return ("0-100-5",)
        if self.sql.startswith("SHOW"):
            return self.status
        return (self.server_id, "10.11.19-MariaDB", 0)

    @property
    def status(self):
        """db-1 (server 102) replicates; db-0 does not."""
        if self.server_id % 2:
            return None
        self.description = [("Slave_IO_Running",), ("Slave_SQL_Running",)]
        return ("Yes", "Yes")

    def close(self):
        pass


@pytest.fixture
def connections(monkeypatch):
    seen = []

    def connect(settings, purpose="the server"):
        seen.append((settings, purpose))
        return Conn(100 + len(seen))

    monkeypatch.setattr(mysql_cluster_check, "connect", connect)
    return seen


def test_wait_connects_every_member_with_the_tls_options(run_module, connections, tls_files):
    result = run_module(mysql_cluster_check, {"action": "wait", "members": MEMBERS, "login_password": "pw",
                                              "ca_cert": tls_files["ca"], "client_cert": tls_files["client_cert"],
                                              "client_key": tls_files["client_key"], "check_hostname": False})
    assert result["changed"] is False and [m["name"] for m in result["members"]] == ["db-0", "db-1"]
    assert [m["replicating"] for m in result["members"]] == [False, True]
    settings = [s for s, _p in connections]
    assert [s.address for s in settings] == ["10.0.0.10:3306", "10.0.0.11:3306"]
    kwargs = settings[0].pymysql_kwargs()
    assert kwargs["ssl"].verify_mode == ssl.CERT_REQUIRED and len(kwargs["ssl"].get_ca_certs()) == 1
    assert kwargs["ssl"].check_hostname is False and kwargs["read_timeout"] == 305
    assert settings[1].pymysql_kwargs()["ssl"] is kwargs["ssl"]
    assert connections[0][1] == "member db-0"


def test_without_tls_options_no_tls_is_asked(run_module, connections):
    run_module(mysql_cluster_check, {"action": "wait", "members": MEMBERS[:1]})
    assert "ssl" not in connections[0][0].pymysql_kwargs()


@pytest.mark.parametrize("action", ["wait", "verify"])
def test_a_missing_ca_file_is_named_before_any_connection(run_module, connections, tmp_path, action):
    result = run_module(mysql_cluster_check, {"action": action, "members": MEMBERS, "login_password": "pw",
                                              "ca_cert": str(tmp_path / "ca.pem")})
    assert result["failed"] and result["msg"].startswith("ca_cert: %s is not a file" % (tmp_path / "ca.pem"))
    assert connections == [] and "exception" not in result


def test_a_certificate_that_does_not_verify_fails_at_once(run_module, monkeypatch, tls_files):
    calls = []

    def refuse(**kwargs):
        calls.append(kwargs["host"])
        raise pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '10.0.0.10' "
                                                 "([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed)")

    monkeypatch.setattr(pymysql, "connect", refuse)
    result = run_module(mysql_cluster_check, {"action": "wait", "members": MEMBERS, "ca_cert": tls_files["ca"]})
    assert calls == ["10.0.0.10"]  # not retried until the timeout: waiting does not fix a wrong CA
    assert result["failed"] and result["msg"].startswith("db-0 (10.0.0.10:3306): TLS handshake with member db-0")


def test_access_denied_fails_at_once_naming_the_member(run_module, monkeypatch):
    calls = []

    def refuse(settings, purpose="the server"):
        calls.append(settings.address)
        raise MySQLReplicationError("Access denied for user 'root'", error_code=1045, address=settings.address)

    monkeypatch.setattr(mysql_cluster_check, "connect", refuse)
    result = run_module(mysql_cluster_check, {"action": "wait", "members": MEMBERS, "login_password": "wrong"})
    assert result["failed"] and "db-0 (10.0.0.10:3306): access denied" in result["msg"]
    assert calls == ["10.0.0.10:3306"]
    assert "wrong" not in str(result)


def test_an_unknown_action_is_refused(run_module, connections):
    result = run_module(mysql_cluster_check, {"action": "repair", "members": MEMBERS})
    assert result["failed"] and "action" in result["msg"] and connections == []
