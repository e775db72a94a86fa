"""Seeding decisions and the MySQL clone (seed.py) against fake servers; the real copy runs in
tests/integration/mysql_cluster/test_seed_from_copy.py."""
import pytest
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.mysql.mysql_fakes import (
    Clock, FakeServer, mariadb_variables, mysql_variables)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import detect
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.gtid import mariadb_purged_beyond
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.seed import ER_CLONE_RESTART_FAILED, clone, plan
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import SqlSession

MYSQL = "9.7.4"
UUID_A = "aaaaaaaa-0000-0000-0000-00000000000a"


class SeedFake(FakeServer):
    """FakeServer plus the binary log list, BINLOG_GTID_POS, the clone plugin and CLONE INSTANCE."""

    def __init__(self, oldest=None, binlog_start="", plugin="ACTIVE", clone_error=None, clone_states=(), **kwargs):
        super().__init__(**kwargs)
        self.oldest = oldest
        self.binlog_start = binlog_start
        self.plugin = plugin
        self.clone_error = clone_error
        self.clone_states = list(clone_states)

    def answer(self, sql, args):
        upper = sql.upper()
        if upper == "SHOW BINARY LOGS":
            self.executed.append((sql, args))
            return [{"Log_name": self.oldest, "File_size": 400}] if self.oldest else []
        if upper.startswith("SELECT BINLOG_GTID_POS"):
            self.executed.append((sql, args))
            return [{"position": self.binlog_start}]
        if upper.startswith("SELECT PLUGIN_STATUS"):
            self.executed.append((sql, args))
            return [{"status": self.plugin}] if self.plugin else []
        if upper.startswith("CLONE INSTANCE"):
            self.executed.append((sql, args))
            if self.clone_error:
                raise self.clone_error
            return []
        if upper.startswith("SELECT STATE AS STATE"):
            self.executed.append((sql, args))
            return [self.clone_states.pop(0)] if self.clone_states else []
        return super().answer(sql, args)


def session(server, queries, check_mode=False, label=None):
    return SqlSession(server, queries, check_mode=check_mode, label=label, address="%s:3306" % (label or "member"))


def mariadb(**variables):
    return dict(version="11.8.3-MariaDB", variables=mariadb_variables(**variables))


def mysql(**variables):
    return dict(version=MYSQL, comment="MySQL Community Server - GPL", variables=mysql_variables(**variables))


def plan_for(member, source, mode="auto"):
    queries = []
    member_session = session(member, queries)
    return plan(member_session, detect(member_session), session(source, queries, label="source"), mode,
                "member:3306", "source:3306")


@pytest.mark.parametrize("position, start, missing", [
    ("", "", []),                                   # nothing purged yet
    ("", "0-1-7", [(0, 1, 7)]),                     # an empty member needs what was purged
    ("0-1-7", "0-1-7", []),                         # it has everything written before the oldest log
    ("0-1-6", "0-1-7", [(0, 1, 7)]),
    ("0-1-9,1-2-3", "0-1-7,1-2-4,1-3-5", [(1, 3, 5)]),  # per domain: the highest sequence before the log
    ("0-1-9", "0-1-7,1-2-4", [(1, 2, 4)]),          # a domain it never saw
])
def test_mariadb_purged_beyond(position, start, missing):
    assert mariadb_purged_beyond(position, start) == missing


def test_mariadb_plan_chooses_a_copy_when_the_oldest_binary_log_starts_after_the_member():
    source = SeedFake(oldest="mysql-bin.000003", binlog_start="0-100-40", **mariadb(gtid_executed="0-100-52"))
    member = SeedFake(**mariadb(server_id=5000001))
    result = plan_for(member, source)
    assert result["method"] == "clone"
    assert result["missing"] == "0-100-40"
    assert ("SELECT BINLOG_GTID_POS(%s, 4) AS position", ("mysql-bin.000003",)) in source.executed


def test_mariadb_plan_keeps_the_binary_logs_for_a_member_they_cover():
    source = SeedFake(oldest="mysql-bin.000003", binlog_start="0-100-40", **mariadb(gtid_executed="0-100-52"))
    member = SeedFake(**mariadb(gtid_executed="0-100-45", gtid_slave_pos="0-100-45"))
    assert plan_for(member, source)["method"] == "binlog"
    # A member at the copy's position before its first binary log: the slave position counts.
    member = SeedFake(**mariadb(gtid_slave_pos="0-100-41"))
    assert plan_for(member, source)["method"] == "binlog"


def test_mode_clone_copies_an_empty_member_even_when_the_logs_cover_it():
    source = SeedFake(oldest="mysql-bin.000001", binlog_start="", **mariadb(gtid_executed="0-100-52"))
    assert plan_for(SeedFake(**mariadb()), source, mode="auto")["method"] == "binlog"
    chosen = plan_for(SeedFake(**mariadb()), source, mode="clone")
    assert chosen["method"] == "clone" and "holds no data" in chosen["reason"]
    # A member that holds data and is covered is never copied again.
    assert plan_for(SeedFake(**mariadb(gtid_executed="0-100-50")), source, mode="clone")["method"] == "binlog"


def test_mode_binlog_refuses_a_member_the_logs_no_longer_cover_and_names_the_gtids():
    source = SeedFake(**mysql(gtid_executed="%s:1-90" % UUID_A, gtid_purged="%s:1-60" % UUID_A))
    member = SeedFake(**mysql(gtid_executed="%s:1-20" % UUID_A))
    with pytest.raises(MySQLReplicationError) as caught:
        plan_for(member, source, mode="binlog")
    assert "%s:21-60" % UUID_A in caught.value.msg
    assert "mode=auto" in caught.value.msg and "1236" in caught.value.msg
    assert not member.writes() and not source.writes()


def test_mysql_plan_compares_gtid_purged_with_gtid_executed():
    source = SeedFake(**mysql(gtid_executed="%s:1-90" % UUID_A, gtid_purged="%s:1-60" % UUID_A))
    assert plan_for(SeedFake(**mysql()), source)["missing"] == "%s:1-60" % UUID_A
    assert plan_for(SeedFake(**mysql(gtid_executed="%s:1-70" % UUID_A)), source)["method"] == "binlog"


SPEC = {"donor_host": "db-1.db", "donor_port": 3306, "clone_user": "root", "clone_password": "s3cret",
        "wait_timeout": 60}


def clone_run(member, donor, after, check_mode=False):
    queries = []
    member_session = session(member, queries, check_mode=check_mode)
    clock = Clock()
    result = clone(member_session, detect(member_session), session(donor, queries, label="donor"), SPEC,
                   "member:3306", lambda: session(after, queries), clock=clock, sleep=clock.sleep)
    return result, queries


def test_mysql_clone_sets_the_donor_clones_and_waits_for_the_restarted_member():
    donor = SeedFake(**mysql(gtid_executed="%s:1-90" % UUID_A))
    member = SeedFake(clone_error=_server_error(ER_CLONE_RESTART_FAILED, "Restart server failed"), **mysql())
    after = SeedFake(clone_states=[{"state": "In Progress"}, {"state": "Completed"}],
                     **mysql(gtid_executed="%s:1-90" % UUID_A))
    (changed, position), queries = clone_run(member, donor, after)
    assert changed and position == "%s:1-90" % UUID_A
    assert [e for e in member.executed if not e[0].startswith(("SELECT", "SHOW"))] == [
        ("SET GLOBAL super_read_only = OFF", ()),
        ("SET GLOBAL clone_valid_donor_list = %s", ("db-1.db:3306",)),
        ("CLONE INSTANCE FROM %s@%s:%s IDENTIFIED BY %s", ("root", "db-1.db", 3306, "s3cret"))]
    assert not any("s3cret" in q for q in queries)


def test_mysql_clone_refuses_a_member_holding_transactions_the_donor_lacks():
    uuid_b = "bbbbbbbb-0000-0000-0000-00000000000b"
    donor = SeedFake(**mysql(gtid_executed="%s:1-90" % UUID_A))
    member = SeedFake(**mysql(gtid_executed="%s:1-80,%s:1-3" % (UUID_A, uuid_b)))
    with pytest.raises(MySQLReplicationError) as caught:
        clone_run(member, donor, None)
    assert "%s:1-3" % uuid_b in caught.value.msg and "Nothing was changed" in caught.value.msg
    assert not member.writes()


def test_clone_needs_the_plugin_and_is_refused_on_mariadb():
    with pytest.raises(MySQLReplicationError) as caught:
        clone_run(SeedFake(plugin="", **mysql()), SeedFake(**mysql()), None)
    assert "plugin_load_add = mysql_clone.so" in caught.value.msg
    with pytest.raises(MySQLReplicationError) as caught:
        clone_run(SeedFake(**mariadb()), SeedFake(**mariadb()), None)
    assert "mariadb-backup" in caught.value.msg


def test_clone_check_mode_lists_the_statements_and_runs_none():
    member = SeedFake(**mysql())
    (changed, unused), queries = clone_run(member, SeedFake(**mysql(gtid_executed="%s:1-9" % UUID_A)), None,
                                           check_mode=True)
    assert changed
    assert not member.writes()
    assert any(q.startswith("CLONE INSTANCE FROM 'root'@'db-1.db':3306 IDENTIFIED BY '********'") for q in queries)


def test_a_failed_clone_is_reported_with_the_servers_error():
    member = SeedFake(clone_error=_server_error(ER_CLONE_RESTART_FAILED, "restart"), **mysql())
    after = SeedFake(clone_states=[{"state": "Failed", "error_no": 3862, "error_message": "Clone Donor Error"}],
                     **mysql())
    with pytest.raises(MySQLReplicationError) as caught:
        clone_run(member, SeedFake(**mysql()), after)
    assert "3862" in caught.value.msg and "Clone Donor Error" in caught.value.msg


def _server_error(code, text):
    import pymysql

    return pymysql.err.OperationalError(code, text)
