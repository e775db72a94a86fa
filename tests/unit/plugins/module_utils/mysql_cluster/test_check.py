"""Unit tests of plugins/module_utils/mysql_cluster/check.py with scripted fake connections."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql_cluster.check import (
    CheckError, marker_statements, verify, wait_all)


class FakeServer:
    """A server that answers the handful of statements check.py sends."""

    def __init__(self, server_id, flavor="mariadb", marker=None, position="0-100-7", waited=0):
        self.server_id = server_id
        self.version = "10.11.19-MariaDB" if flavor == "mariadb" else "8.4.3"
        self.marker = marker
        self.position = position
        self.waited = waited
        self.executed = []

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        pass


class FakeCursor:
    def __init__(self, server):
        self.server = server
        self.row = None

    def execute(self, sql, args=None):
        s = self.server
        s.executed.append((sql, args))
        if sql.startswith("SELECT @@server_id"):
            self.row = (s.server_id, s.version, 0)
        elif "information_schema.tables" in sql:
            self.row = (1 if s.marker is not None else 0,)
        elif sql.startswith("SELECT value FROM"):
            self.row = (s.marker,) if s.marker is not None else None
        elif sql.startswith("SELECT @@GLOBAL.gtid"):
            self.row = (s.position,)
        elif "GTID" in sql and "WAIT" in sql:
            self.row = (s.waited,)
        elif sql.startswith("INSERT INTO"):
            s.marker = args[0]
        else:
            self.row = None

    def fetchone(self):
        return self.row

    def close(self):
        pass


MEMBERS = [{"name": "db-0", "host": "10.0.0.1", "port": 3306, "primary": True},
           {"name": "db-1", "host": "10.0.0.2", "port": 3306, "primary": False},
           {"name": "db-2", "host": "10.0.0.3", "port": 3306, "primary": False}]


def connector(servers):
    return lambda member: servers[member["name"]]


def _advance(now):
    return lambda seconds: now.__setitem__(0, now[0] + seconds)


def writes(server):
    return [entry[0] for entry in server.executed if not entry[0].startswith("SELECT")]


def test_verify_writes_the_marker_once_then_reports_no_change():
    servers = {"db-0": FakeServer(100), "db-1": FakeServer(101, marker="m"), "db-2": FakeServer(102, marker="m")}
    changed, queries, results, position = verify(MEMBERS, connector(servers), "sdb", "m", 30)
    assert changed is True
    assert queries == marker_statements("sdb")
    assert servers["db-0"].marker == "m"
    assert position == "0-100-7"
    assert [(r["name"], r["caught_up"], r["marker_seen"]) for r in results] == [
        ("db-1", True, True), ("db-2", True, True)]

    servers["db-0"].executed.clear()
    changed, queries, results, position = verify(MEMBERS, connector(servers), "sdb", "m", 30)
    assert position == "0-100-7"
    assert (changed, queries, writes(servers["db-0"])) == (False, [], [])
    assert all(r["marker_seen"] for r in results)


def test_verify_in_check_mode_writes_nothing():
    servers = {"db-0": FakeServer(100), "db-1": FakeServer(101), "db-2": FakeServer(102)}
    changed, queries, results, position = verify(MEMBERS, connector(servers), "sdb", "m", 30, check_mode=True)
    assert changed is True and queries and results == [] and position == "0-100-7"
    assert writes(servers["db-0"]) == [] and servers["db-0"].marker is None


def test_verify_names_the_replica_that_is_behind_or_wrong():
    servers = {"db-0": FakeServer(100, marker="m"), "db-1": FakeServer(101, waited=-1),
               "db-2": FakeServer(102, marker="old")}
    with pytest.raises(CheckError) as err:
        verify(MEMBERS, connector(servers), "sdb", "m", 5)
    assert "db-1 did not apply the primary's GTID position 0-100-7 within 5 s" in str(err.value)
    assert "db-2 is caught up but shows marker 'old' instead of 'm'" in str(err.value)
    assert [r["name"] for r in err.value.members] == ["db-1", "db-2"]


def test_verify_uses_mysql_gtid_statements_on_mysql():
    servers = {"db-0": FakeServer(100, flavor="mysql", marker="m", position="uuid:1-5"),
               "db-1": FakeServer(101, flavor="mysql", marker="m"), "db-2": FakeServer(102, flavor="mysql", marker="m")}
    verify(MEMBERS, connector(servers), "sdb", "m", 5)
    assert ("SELECT @@GLOBAL.gtid_executed", None) in servers["db-0"].executed
    assert any(sql.startswith("SELECT WAIT_FOR_EXECUTED_GTID_SET") and args[0] == "uuid:1-5"
               for sql, args in servers["db-1"].executed)


def test_verify_needs_exactly_one_primary():
    with pytest.raises(CheckError, match="exactly one member must have primary=true, got 0"):
        verify([dict(m, primary=False) for m in MEMBERS], connector({}), "sdb", "m", 5)


class Refused(Exception):
    pass


def test_wait_all_retries_until_each_member_answers():
    attempts = {"db-0": 0, "db-1": 0, "db-2": 0}

    def connect(member):
        attempts[member["name"]] += 1
        if member["name"] == "db-1" and attempts["db-1"] < 3:
            raise Refused(2003, "Can't connect")
        return FakeServer(100 + int(member["name"][-1]))

    now = [0.0]
    results = wait_all(MEMBERS, connect, 60, errors=(Refused,), clock=lambda: now[0],
                       sleep=_advance(now))
    assert [r["server_id"] for r in results] == [100, 101, 102]
    assert attempts == {"db-0": 1, "db-1": 3, "db-2": 1}


def test_wait_all_gives_up_at_the_deadline_naming_the_member():
    now = [0.0]

    def connect(member):
        raise Refused(2003, "Can't connect to server on '10.0.0.1'")

    with pytest.raises(CheckError, match=r"db-0 \(10.0.0.1:3306\) did not answer SQL within 3 s"):
        wait_all(MEMBERS, connect, 3, errors=(Refused,), clock=lambda: now[0],
                 sleep=_advance(now))


def test_wait_all_fails_at_once_on_access_denied():
    def connect(member):
        raise Refused(1045, "Access denied for user 'root'")

    with pytest.raises(CheckError, match="access denied"):
        wait_all(MEMBERS, connect, 300, errors=(Refused,), clock=lambda: 0.0, sleep=lambda s: None)


def test_wait_all_fails_at_once_on_access_denied_from_the_shared_connection_path():
    # mysql/connection.py raises MySQLReplicationError with the server's code in details.
    from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
    calls = []

    def connect(member):
        calls.append(member["name"])
        raise MySQLReplicationError("Access denied for user 'root'", error_code=1045, address="10.0.0.1:3306")

    with pytest.raises(CheckError, match="access denied"):
        wait_all(MEMBERS, connect, 300, errors=(MySQLReplicationError,), clock=lambda: 0.0, sleep=lambda s: None)
    assert calls == ["db-0"]


def test_wait_all_reports_each_members_gtid_position_empty_for_a_server_without_data():
    servers = {"db-0": FakeServer(100, position=""), "db-1": FakeServer(101, position="0-101-9\n"),
               "db-2": FakeServer(102, flavor="mysql", position="3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5")}
    results = wait_all(MEMBERS, lambda m: servers[m["name"]], 5)
    assert [r["gtid_position"] for r in results] == ["", "0-101-9", "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"]
    assert "SELECT @@GLOBAL.gtid_binlog_pos" in [sql for sql, unused in servers["db-0"].executed]
    assert "SELECT @@GLOBAL.gtid_executed" in [sql for sql, unused in servers["db-2"].executed]
