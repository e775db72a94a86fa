"""replication.run: input checked before connecting; dispatch by role; the source login the replica uses."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql import replication
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError


def params(**extra):
    base = {"role": "replica", "login_host": "10.0.0.11", "login_port": None, "login_user": "root",
            "login_password": "pw", "login_unix_socket": None, "config_file": None, "ca_cert": "/ca.pem",
            "client_cert": None, "client_key": None, "check_hostname": None, "connect_timeout": 30,
            "source_host": "db-0.db", "source_port": 3306, "source_login_host": None, "source_login_port": None,
            "source_login_user": None, "source_login_password": None, "replication_user": "repl",
            "replication_password": "rpw", "wait_timeout": 60}
    base.update(extra)
    return base


@pytest.mark.parametrize("extra,message", [
    ({"login_port": 0}, "login_port=0 is not a TCP port"),
    ({"source_port": 70000}, "source_port=70000 is not a TCP port"),
    ({"wait_timeout": 0}, "wait_timeout must be at least 1 second"),
    ({"connect_timeout": 0}, "connect_timeout must be at least 1 second"),
    ({"source_host": " "}, "source_host is empty; give a host name or an IP address"),
])
def test_input_mistakes_are_refused_before_connecting(monkeypatch, extra, message):
    monkeypatch.setattr(replication, "connect", lambda *a: pytest.fail("connected"))
    with pytest.raises(MySQLReplicationError, match=message):
        replication.run(params(**extra), False, [])


class Conn:
    closed = False

    def close(self):
        self.closed = True


@pytest.fixture
def wired(monkeypatch):
    seen = {"connects": [], "conn": Conn()}

    def connect(settings, purpose):
        seen["connects"].append((settings, purpose))
        return seen["conn"]

    monkeypatch.setattr(replication, "connect", connect)
    monkeypatch.setattr(replication, "detect", lambda session: "flavor")
    return seen


def test_replica_opens_the_source_as_the_replication_user_with_the_same_tls(monkeypatch, wired):
    def ensure_replica(session, flavor, open_source, spec, address):
        open_source()
        return {"changed": False, "address": address}

    monkeypatch.setattr(replication, "ensure_replica", ensure_replica)
    result = replication.run(params(), False, [])
    assert result == {"changed": False, "address": "10.0.0.11:3306"}
    source, purpose = wired["connects"][1]
    assert (source.address, source.user, source.password, source.ca_cert) == ("db-0.db:3306", "repl", "rpw", "/ca.pem")
    assert purpose == "the source (as replication_user repl)"
    assert wired["conn"].closed


def test_replica_uses_source_login_options_when_given(monkeypatch, wired):
    monkeypatch.setattr(replication, "ensure_replica",
                        lambda session, flavor, open_source, spec, address: open_source() and {})
    replication.run(params(source_login_host="10.0.0.10", source_login_port=3307, source_login_user="admin",
                           source_login_password="apw"), False, [])
    source, purpose = wired["connects"][1]
    assert (source.address, source.user, source.password) == ("10.0.0.10:3307", "admin", "apw")
    assert purpose == "the source (as source_login_user admin)"


def test_primary_checks_the_replication_login_on_itself(monkeypatch, wired):
    tried = []
    monkeypatch.setattr(replication, "can_log_in", lambda settings: tried.append(settings) or True)

    def ensure_primary(session, flavor, spec, try_login, address):
        return {"login_ok": try_login()}

    monkeypatch.setattr(replication, "ensure_primary", ensure_primary)
    assert replication.run(params(role="primary"), True, []) == {"login_ok": True}
    assert (tried[0].address, tried[0].user, tried[0].password) == ("10.0.0.11:3306", "repl", "rpw")
