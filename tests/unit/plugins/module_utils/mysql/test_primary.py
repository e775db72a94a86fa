"""role=primary decisions against fake MariaDB and MySQL 8.0/8.4 servers."""
import pytest
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.mysql.mysql_fakes import (
    MYSQL_84_REMOVED, FakeServer, mariadb_variables, mysql_variables)

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import from_strings
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.primary import ensure_primary

SPEC = {"replication_user": "repl", "replication_password": "pw", "replication_user_host": "%",
        "update_password": "always", "read_only": None}


def _no_login():
    raise AssertionError("no login expected")


@pytest.mark.parametrize("version, binlog_statement", [
    ("8.0.36", "SHOW MASTER STATUS"),
    ("8.4.3", "SHOW BINARY LOG STATUS"),
])
def test_mysql_primary_reports_gtid_executed(session_for, version, binlog_statement):
    server = FakeServer(version=version, comment="MySQL Community Server - GPL",
                        removed=MYSQL_84_REMOVED if version.startswith("8.4") else (),
                        variables=mysql_variables(server_id=1, gtid_executed="1111:1-7"))
    result = ensure_primary(session_for(server), from_strings(version, "MySQL"), dict(SPEC, replication_user=None),
                            _no_login, "db-0:3306")
    assert (result["changed"], result["flavor"], result["gtid_executed"]) == (False, "mysql", "1111:1-7")
    assert (binlog_statement, ()) in server.executed


@pytest.mark.parametrize("flavor_args, variables, problems", [
    (("10.11.6-MariaDB", ""), mariadb_variables(log_bin=0), ["binary logging is off"]),
    (("8.0.36", "MySQL"), mysql_variables(gtid_mode="OFF", enforce_gtid_consistency="OFF"),
     ["gtid_mode is OFF, it must be ON", "enforce_gtid_consistency is OFF, it must be ON"]),
    (("8.4.3", "MySQL"), mysql_variables(server_id=0), ["server_id is 0"]),
])
def test_primary_refusals(session_for, flavor_args, variables, problems):
    server = FakeServer(version=flavor_args[0], comment=flavor_args[1], variables=variables)
    with pytest.raises(MySQLReplicationError) as caught:
        ensure_primary(session_for(server), from_strings(*flavor_args), SPEC, _no_login, "db-0:3306")
    assert "db-0:3306 cannot be a replication source" in caught.value.msg
    for problem in problems:
        assert problem in caught.value.msg
    assert server.writes() == []


def test_check_mode_predicts_read_only_without_setting_it(session_for):
    server = FakeServer(variables=mariadb_variables(read_only=1))
    result = ensure_primary(session_for(server, check_mode=True), from_strings("10.11.6-MariaDB", ""),
                            dict(SPEC, replication_user=None, read_only=False), _no_login, "db-0:3306")
    assert result["changed"] is True and result["read_only"] is False
    assert result["diff"] == {"before": {"read_only": True}, "after": {"read_only": False}}
    assert server.writes() == []


class SemiSyncFake(FakeServer):
    """A source whose semi-synchronous status shows commits no replica acknowledged in time."""

    def __init__(self, status, **kwargs):
        super().__init__(**kwargs)
        self.semi_sync = status

    def answer(self, sql, args):
        if sql.upper().startswith("SHOW GLOBAL STATUS LIKE 'RPL_SEMI_SYNC%'"):
            return [{"Variable_name": k, "Value": v} for k, v in self.semi_sync.items()]
        return super().answer(sql, args)


@pytest.mark.parametrize("version, comment, status, side", [
    ("11.8.3-MariaDB", "", {"Rpl_semi_sync_master_status": "OFF", "Rpl_semi_sync_master_no_tx": "3"}, "master"),
    ("9.7.4", "MySQL", {"Rpl_semi_sync_source_status": "ON", "Rpl_semi_sync_source_no_tx": "2"}, "source"),
])
def test_primary_reports_commits_acknowledged_without_a_replica(session_for, version, comment, status, side):
    variables = mariadb_variables(server_id=1) if comment == "" else mysql_variables(server_id=1)
    server = SemiSyncFake(status, version=version, comment=comment, variables=variables)
    result = ensure_primary(session_for(server), from_strings(version, comment), dict(SPEC, replication_user=None),
                            _no_login, "db-0:3306")
    on = status["Rpl_semi_sync_%s_status" % side] == "ON"
    unacknowledged = int(status["Rpl_semi_sync_%s_no_tx" % side])
    assert result["semi_sync"] == {"on": on, "unacknowledged_commits": unacknowledged}
    # Only a fallback that lasts is worth a warning: commits made before any replica connected (the
    # first deploy's replication account) are counted too.
    warned = [w for w in result["warnings"] if "asynchronous now" in w]
    assert bool(warned) == (not on)
    assert not warned or ("%d commit(s)" % unacknowledged in warned[0] and "failover" in warned[0])


def test_a_source_without_semi_sync_reports_none_and_warns_nothing(session_for):
    server = FakeServer(variables=mariadb_variables(server_id=1))
    result = ensure_primary(session_for(server), from_strings("10.11.6-MariaDB", ""), dict(SPEC, replication_user=None),
                            _no_login, "db-0:3306")
    assert result["semi_sync"] is None and result["warnings"] == []
