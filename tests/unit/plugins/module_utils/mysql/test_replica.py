"""role=replica decisions against fake MariaDB and MySQL 8.0/8.4 servers (fake PyMySQL cursor).

No MySQL 8 server is installable here (Debian ships MariaDB only): the MySQL paths are proven
against this fake, which refuses the statements 8.4 removed.
"""
import pytest
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.mysql.mysql_fakes import (
    MYSQL_84_REMOVED, FakeServer, mariadb_variables, mysql_variables)

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import from_strings
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.replica import (
    ensure_replica,
    plan_repairs,
    wait_caught_up,
)

MARIADB = from_strings("10.11.6-MariaDB-log", "Debian 12")
MYSQL84 = from_strings("8.4.3", "MySQL Community Server - GPL")
SPEC = {"source_host": "db-0.db", "source_port": 3306, "source_login_host": None, "source_login_port": None,
        "replication_user": "repl", "replication_password": "S3cret!", "wait": True, "wait_timeout": 30,
        "read_only": None}


def status(**overrides):
    """Normalized status (what server.read_replica_status returns) of a healthy replica."""
    values = {"io_running": "Yes", "sql_running": "Yes", "source_host": "db-0.db", "source_port": 3306,
              "source_user": "repl", "seconds_behind_source": 0, "last_io_errno": 0, "last_io_error": "",
              "last_sql_errno": 0, "last_sql_error": "", "source_server_id": 1, "auto_position": "Slave_Pos",
              "retrieved_gtid_set": ""}
    values.update(overrides)
    return values


def actions(steps):
    return [step.action for step in steps]


def sql(steps):
    return [getattr(s, "sql", s) for step in steps for s in step.statements]


@pytest.mark.parametrize("current, expected_actions, expected_sql", [
    (None, ["configured replication from db-0.db:3306 as repl with GTID auto-positioning", "started replication"],
     ["CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos",
      "START REPLICA"]),
    (status(), [], []),
    # An IO thread still connecting is running: leave it, the wait reports its error.
    (status(io_running="Connecting"), [], []),
    (status(io_running="Preparing"), [], []),
    (status(sql_running="No"), ["started replication: SQL thread was stopped"], ["START REPLICA"]),
    (status(io_running="No", sql_running="No", last_sql_errno=1062, last_sql_error="Duplicate entry"),
     ["started replication: IO thread was stopped; SQL thread was stopped (error 1062: Duplicate entry)"],
     ["START REPLICA"]),
    (status(source_host="old-primary"),
     ["stopped replication to change its source",
      "re-configured replication: source was old-primary:3306, now db-0.db:3306", "started replication"],
     ["STOP REPLICA", "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, "
      "MASTER_USE_GTID=slave_pos", "START REPLICA"]),
    (status(auto_position="No", io_running="No", sql_running="No"),
     ["re-configured replication: GTID auto-positioning was off (No), now on", "started replication"],
     ["CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, "
      "MASTER_USE_GTID=slave_pos", "START REPLICA"]),
    (status(io_running="Connecting", last_io_errno=1045, last_io_error="Access denied for user 'repl'"),
     ["stopped replication to change its source",
      "re-configured replication: the replication user could not log in to the source (error 1045: "
      "Access denied for user 'repl'); password set again", "started replication"],
     ["STOP REPLICA", "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, "
      "MASTER_USE_GTID=slave_pos", "START REPLICA"]),
])
def test_plan_repairs_mariadb(current, expected_actions, expected_sql):
    steps = plan_repairs(current, SPEC, MARIADB)
    assert actions(steps) == expected_actions
    assert sql(steps) == expected_sql


def test_plan_never_resets():
    for current in (None, status(), status(source_host="x"), status(io_running="No", sql_running="No")):
        for flavor in (MARIADB, MYSQL84):
            assert not [s for s in sql(plan_repairs(current, SPEC, flavor)) if "RESET" in s]


def test_plan_repairs_mysql84_uses_source_vocabulary():
    steps = plan_repairs(status(source_host="old", auto_position="1"), SPEC, MYSQL84)
    assert sql(steps) == ["STOP REPLICA",
                          "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER=%s, "
                          "SOURCE_PASSWORD=%s, SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1",
                          "START REPLICA"]


# --- ensure_replica end to end over fake servers ---------------------------------------------------

def mariadb_pair(replica_vars=None, source_vars=None, replica_status=None):
    replica = FakeServer(variables=mariadb_variables(**(replica_vars or {})), status=replica_status)
    source = FakeServer(variables=mariadb_variables(**dict({"server_id": 1, "hostname": "db-0", "gtid_executed": "0-1-10",
                                                            "gtid_binlog_state": "0-1-10"}, **(source_vars or {}))))
    return replica, source


def mysql84_pair(replica_vars=None, source_vars=None, replica_status=None, subset=(True, "")):
    replica = FakeServer(version="8.4.3", comment="MySQL Community Server - GPL", removed=MYSQL_84_REMOVED,
                         variables=mysql_variables(**(replica_vars or {})), status=replica_status)
    source = FakeServer(version="8.4.3", comment="MySQL Community Server - GPL", removed=MYSQL_84_REMOVED,
                        variables=mysql_variables(server_id=1, hostname="db-0",
                                                  server_uuid="11111111-0000-0000-0000-000000000001",
                                                  gtid_executed="11111111-0000-0000-0000-000000000001:1-10",
                                                  **(source_vars or {})),
                        gtid_subset=lambda a, b: subset)
    return replica, source


def run(replica, source, session_for, flavor=MARIADB, check_mode=False, **spec):
    queries = []
    replica_session = session_for(replica, check_mode=check_mode, queries=queries)

    def open_source():
        return session_for(source, check_mode=check_mode, queries=queries, label="source 10.244.0.5:3306")

    result = ensure_replica(replica_session, flavor, open_source, dict(SPEC, **spec), "10.244.0.6:3306")
    return result, queries


def test_new_mariadb_replica_is_configured_and_waited_for(session_for):
    replica, source = mariadb_pair()
    result, queries = run(replica, source, session_for)
    assert result["changed"] is True
    assert (result["io_running"], result["sql_running"], result["caught_up"]) == ("Yes", "Yes", True)
    assert replica.writes() == ["CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, "
                                "MASTER_USE_GTID=slave_pos", "START REPLICA"]
    # Waited for the source's position, server-side.
    assert ("SELECT MASTER_GTID_WAIT(%s, %s)", ("0-1-10", 1)) in replica.executed
    assert "S3cret!" not in " ".join(queries)
    assert "/* source 10.244.0.5:3306 */ SELECT VERSION() AS version, @@version_comment AS version_comment" in queries


def test_check_mode_writes_nothing_and_predicts(session_for):
    replica, source = mariadb_pair()
    result, queries = run(replica, source, session_for, check_mode=True)
    assert result["changed"] is True and result["caught_up"] is None
    assert replica.writes() == []
    assert queries[-2:] == ["CHANGE MASTER TO MASTER_HOST='db-0.db', MASTER_PORT=3306, MASTER_USER='repl', "
                            "MASTER_PASSWORD='********', MASTER_USE_GTID=slave_pos", "START REPLICA"]
    assert result["diff"]["after"]["io_running"] == "Yes" and result["diff"]["before"]["io_running"] is None


def test_healthy_replica_is_not_touched(session_for):
    replica, source = mariadb_pair(replica_status={
        "Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Master_Host": "db-0.db", "Master_Port": 3306,
        "Master_User": "repl", "Using_Gtid": "Slave_Pos", "Seconds_Behind_Master": 0, "Last_IO_Errno": 0,
        "Last_IO_Error": "", "Last_SQL_Errno": 0, "Last_SQL_Error": ""})
    result, unused = run(replica, source, session_for)
    assert result["changed"] is False and result["actions"] == []
    assert replica.writes() == []


@pytest.mark.parametrize("replica_vars, source_vars, message", [
    ({"hostname": "db-0", "port": 3306, "datadir": "/var/lib/mysql/", "server_id": 1}, {},
     "is this server itself"),
    ({"server_id": 1}, {}, "both have server_id 1"),
    ({}, {"log_bin": 0}, "cannot be a replication source: binary logging is off"),
    ({"gtid_binlog_state": "0-1-10,0-2-11"}, {}, "errant GTIDs: 0-2-11"),
])
def test_mariadb_refusals_write_nothing(session_for, replica_vars, source_vars, message):
    replica, source = mariadb_pair(replica_vars, source_vars)
    with pytest.raises(MySQLReplicationError) as caught:
        run(replica, source, session_for)
    assert message in caught.value.msg
    assert replica.writes() == []


def test_mysql84_new_replica_uses_only_84_statements(session_for):
    replica, source = mysql84_pair()
    result, queries = run(replica, source, session_for, flavor=MYSQL84, read_only=True)
    assert result["changed"] is True
    assert replica.writes() == [
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER=%s, SOURCE_PASSWORD=%s, "
        "SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1", "START REPLICA", "SET GLOBAL read_only = %s"]
    assert ("SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s)", ("11111111-0000-0000-0000-000000000001:1-10", 1)) in replica.executed
    assert result["actions"][-1] == "set read_only to ON"
    assert not [q for q in queries if "MASTER" in q or "SLAVE STATUS" in q]


def test_mysql84_errant_transactions_via_gtid_subset(session_for):
    replica, source = mysql84_pair(replica_vars={"gtid_executed": "2222:1-3"}, subset=(False, "2222:1-3"))
    with pytest.raises(MySQLReplicationError) as caught:
        run(replica, source, session_for, flavor=MYSQL84)
    assert "errant GTIDs: 2222:1-3" in caught.value.msg
    assert caught.value.details["errant_gtids"] == "2222:1-3"
    # GTID_SUBSET ran on the source with (replica set, source set).
    assert source.executed[-1][1][:2] == ("2222:1-3", "11111111-0000-0000-0000-000000000001:1-10")


def test_mysql_same_server_uuid_is_itself(session_for):
    replica, source = mysql84_pair(replica_vars={"server_uuid": "11111111-0000-0000-0000-000000000001"})
    with pytest.raises(MySQLReplicationError, match="same server_uuid"):
        run(replica, source, session_for, flavor=MYSQL84)


@pytest.mark.parametrize("overrides, message", [
    ({"gtid_mode": "OFF"}, "gtid_mode is OFF, it must be ON"),
    ({"enforce_gtid_consistency": "WARN"}, "enforce_gtid_consistency is WARN, it must be ON"),
])
def test_mysql_source_without_gtids_is_refused(session_for, overrides, message):
    replica, source = mysql84_pair(source_vars=overrides)
    with pytest.raises(MySQLReplicationError, match=message):
        run(replica, source, session_for, flavor=MYSQL84)


def test_mysql_replica_without_gtids_is_refused(session_for):
    replica, source = mysql84_pair(replica_vars={"gtid_mode": "OFF_PERMISSIVE"})
    with pytest.raises(MySQLReplicationError, match="replica at 10.244.0.6:3306 cannot use GTID auto-positioning"):
        run(replica, source, session_for, flavor=MYSQL84)


def test_flavor_mismatch_is_refused(session_for):
    replica, unused = mariadb_pair()
    unused, source = mysql84_pair()
    with pytest.raises(MySQLReplicationError, match="is mariadb but the source db-0.db:3306 is mysql"):
        run(replica, source, session_for)


# --- waiting ----------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _replica_with(status_row, wait_results):
    return FakeServer(variables=mariadb_variables(), status=status_row, wait_results=wait_results)


HEALTHY = {"Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Master_Host": "db-0.db", "Master_Port": 3306,
           "Master_User": "repl", "Using_Gtid": "Slave_Pos", "Seconds_Behind_Master": 3, "Last_IO_Errno": 0,
           "Last_IO_Error": "", "Last_SQL_Errno": 0, "Last_SQL_Error": ""}


def test_wait_fails_fast_on_sql_error(session_for):
    replica = _replica_with(dict(HEALTHY, Slave_SQL_Running="No", Last_SQL_Errno=1062,
                                 Last_SQL_Error="Duplicate entry '1'"), [-1])
    with pytest.raises(MySQLReplicationError, match="SQL thread stopped with error 1062.*does not skip"):
        wait_caught_up(session_for(replica), MARIADB, "0-1-10", 300, clock=Clock(), sleep=lambda s: None)


def test_wait_fails_fast_when_the_replica_cannot_reach_the_source(session_for):
    replica = _replica_with(dict(HEALTHY, Slave_IO_Running="Connecting", Last_IO_Errno=2003,
                                 Last_IO_Error="error connecting to master"), [-1])
    with pytest.raises(MySQLReplicationError, match="IO thread: Connecting, error 2003"):
        wait_caught_up(session_for(replica), MARIADB, "0-1-10", 300, clock=Clock(), sleep=lambda s: None)


def test_wait_grows_its_chunks_and_times_out_with_the_state(session_for):
    clock = Clock()
    replica = _replica_with(HEALTHY, [-1] * 10)
    waits = []
    original = replica.answer

    def answer(sql, args):
        if sql.startswith("SELECT MASTER_GTID_WAIT"):
            waits.append(args[1])
            clock.now += args[1]
        return original(sql, args)

    replica.answer = answer
    with pytest.raises(MySQLReplicationError, match="did not catch up .* within wait_timeout=20s .*seconds behind source: 3"):
        wait_caught_up(session_for(replica), MARIADB, "0-1-10", 20, clock=clock, sleep=lambda s: None)
    assert waits == [1, 2, 4, 8, 5]


def test_wait_returns_only_when_threads_run(session_for):
    replica = _replica_with(dict(HEALTHY, Slave_IO_Running="Preparing"), [0])
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        replica.status["Slave_IO_Running"] = "Yes"

    result, caught_up = wait_caught_up(session_for(replica), MARIADB, "0-1-10", 30, clock=Clock(), sleep=sleep)
    assert caught_up is True and result["io_running"] == "Yes" and slept == [0.2]


def test_without_fail_on_timeout_a_lagging_replica_is_reported(session_for):
    clock = Clock()
    replica = _replica_with(HEALTHY, [-1])
    original = replica.answer

    def answer(sql, args):
        if sql.startswith("SELECT MASTER_GTID_WAIT"):
            clock.now += args[1]
        return original(sql, args)

    replica.answer = answer
    status, caught_up = wait_caught_up(session_for(replica), MARIADB, "0-1-10", 1, clock=clock,
                                       sleep=lambda s: None, fail_on_timeout=False)
    assert caught_up is False and status["seconds_behind_source"] == 3


# --- require_receiver=False: a failover candidate applies its relay log without a source ----------

GONE_SOURCE = dict(HEALTHY, Slave_IO_Running="No", Last_IO_Errno=2003, Last_IO_Error="error connecting to master")


def test_without_receiver_the_wait_ends_once_applied_though_the_io_thread_fails(session_for):
    replica = _replica_with(GONE_SOURCE, [-1, 0])
    slept = []
    result, caught_up = wait_caught_up(session_for(replica), MARIADB, "0-1-10", 30, clock=Clock(),
                                       sleep=slept.append, fail_on_timeout=False, require_receiver=False)
    assert caught_up is True and result["io_running"] == "No" and slept == []
    # With the receiver required the same replica fails fast.
    replica = _replica_with(GONE_SOURCE, [-1, 0])
    with pytest.raises(MySQLReplicationError, match="IO thread: No, error 2003"):
        wait_caught_up(session_for(replica), MARIADB, "0-1-10", 30, clock=Clock(), sleep=lambda s: None)


def test_without_receiver_an_sql_error_names_the_relay_log_and_leaves_the_advice_to_the_caller(session_for):
    replica = _replica_with(dict(GONE_SOURCE, Slave_SQL_Running="No", Last_SQL_Errno=1032,
                                 Last_SQL_Error="Can't find record"), [-1])
    with pytest.raises(MySQLReplicationError) as caught:
        wait_caught_up(session_for(replica), MARIADB, "0-1-10", 30, clock=Clock(), sleep=lambda s: None,
                       fail_on_timeout=False, require_receiver=False)
    assert caught.value.msg == ("The replica's SQL thread stopped with error 1032 while applying its relay log: "
                                "Can't find record.")


def test_without_receiver_the_deadline_reports_not_applied(session_for):
    clock = Clock()
    replica = _replica_with(GONE_SOURCE, [-1] * 10)
    original = replica.answer

    def answer(sql, args):
        if sql.startswith("SELECT MASTER_GTID_WAIT"):
            clock.now += args[1]
        return original(sql, args)

    replica.answer = answer
    status, caught_up = wait_caught_up(session_for(replica), MARIADB, "0-1-10", 5, clock=clock,
                                       sleep=lambda s: None, fail_on_timeout=False, require_receiver=False)
    assert caught_up is False and status["io_running"] == "No"


# --- refresh_password: a password rotated on the source reaches healthy replicas ------------------

HEALTHY_MARIADB = {
    "Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Master_Host": "db-0.db", "Master_Port": 3306,
    "Master_User": "repl", "Using_Gtid": "Slave_Pos", "Seconds_Behind_Master": 0, "Last_IO_Errno": 0,
    "Last_IO_Error": "", "Last_SQL_Errno": 0, "Last_SQL_Error": ""}
HEALTHY_MYSQL = {
    "Replica_IO_Running": "Yes", "Replica_SQL_Running": "Yes", "Source_Host": "db-0.db", "Source_Port": 3306,
    "Source_User": "repl", "Auto_Position": "1", "Seconds_Behind_Source": 0, "Last_IO_Errno": 0,
    "Last_IO_Error": "", "Last_SQL_Errno": 0, "Last_SQL_Error": ""}


def test_refresh_password_on_a_healthy_mariadb_replica_changes_only_the_password(session_for):
    replica, source = mariadb_pair(replica_status=dict(HEALTHY_MARIADB))
    result, queries = run(replica, source, session_for, replication_password="N3w-pw", refresh_password=True)
    assert result["changed"] is True
    assert result["actions"] == ["set the new replication password of repl (refresh_password): stopped and "
                                 "started again at its position"]
    # MariaDB refuses CHANGE MASTER while a thread runs: both stop, nothing is reset or re-pointed.
    assert replica.writes() == ["STOP REPLICA", "CHANGE MASTER TO MASTER_PASSWORD=%s", "START REPLICA"]
    assert replica.source_password == "N3w-pw"
    assert "CHANGE MASTER TO MASTER_PASSWORD='********'" in queries and "N3w-pw" not in " ".join(queries)
    assert (result["io_running"], result["sql_running"]) == ("Yes", "Yes")


def test_refresh_password_on_a_healthy_mysql84_replica_stops_only_the_io_thread(session_for):
    replica, source = mysql84_pair(replica_status=dict(HEALTHY_MYSQL))
    result, unused = run(replica, source, session_for, flavor=MYSQL84, replication_password="N3w-pw",
                         refresh_password=True)
    assert result["changed"] is True
    assert replica.writes() == ["STOP REPLICA IO_THREAD", "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD=%s",
                                "START REPLICA"]
    assert replica.source_password == "N3w-pw"


def test_refresh_password_in_check_mode_writes_nothing(session_for):
    replica, source = mariadb_pair(replica_status=dict(HEALTHY_MARIADB))
    result, queries = run(replica, source, session_for, check_mode=True, refresh_password=True)
    assert result["changed"] is True and replica.writes() == []
    assert queries[-3:] == ["STOP REPLICA", "CHANGE MASTER TO MASTER_PASSWORD='********'", "START REPLICA"]


def test_refresh_password_on_a_stopped_replica_and_a_new_one():
    steps = plan_repairs(status(io_running="No", sql_running="No"), dict(SPEC, refresh_password=True), MARIADB)
    assert sql(steps) == ["CHANGE MASTER TO MASTER_PASSWORD=%s", "START REPLICA"]
    assert "IO thread was stopped" in actions(steps)[0]
    # Not configured yet, or re-pointed: the full CHANGE carries the password anyway.
    assert sql(plan_repairs(None, dict(SPEC, refresh_password=True), MARIADB))[0].startswith("CHANGE MASTER TO MASTER_HOST")
    assert "STOP REPLICA" in sql(plan_repairs(status(source_host="x"), dict(SPEC, refresh_password=True), MARIADB))
    for flavor in (MARIADB, MYSQL84):
        assert not [s for s in sql(plan_repairs(status(), dict(SPEC, refresh_password=True), flavor)) if "RESET" in s]


# --- errant transactions: the refusal never advises deleting data ------------------------------------

def test_errant_refusal_names_the_gtids_keeps_the_data_and_gives_the_ways_out(session_for):
    replica, source = mariadb_pair({"gtid_binlog_state": "0-1-10,0-2-11"})
    with pytest.raises(MySQLReplicationError) as caught:
        run(replica, source, session_for)
    msg = caught.value.msg
    assert "errant GTIDs: 0-2-11" in msg
    assert "kept out of replication and its data is untouched" in msg
    assert "keep a backup of this member first, then re-seed it from a copy of the source" in msg
    assert "fail over to it" in msg and "apply those transactions on the source" in msg
    for advice in ("Remove", "remove", "delete", "Delete", "clone it"):
        assert advice not in msg
    assert replica.writes() == []


# --- a former primary re-pointed at the new one (MariaDB) -------------------------------------------

def test_former_primary_takes_its_binlog_position_before_change_master(session_for):
    # Server 2 was the primary (wrote 0-2-11..12 after replicating 0-1-10); server 1 got them and
    # is the primary now (0-1-13). The errant check passes, so the old primary adopts 0-2-12.
    replica, source = mariadb_pair(
        replica_vars={"gtid_binlog_state": "0-1-10,0-2-12", "gtid_executed": "0-2-12", "gtid_slave_pos": "0-1-10"},
        source_vars={"gtid_binlog_state": "0-1-13,0-2-12", "gtid_executed": "0-1-13"},
        replica_status=dict(HEALTHY_MARIADB, Slave_IO_Running="No", Slave_SQL_Running="No", Master_Host="db-1.db"))
    result, queries = run(replica, source, session_for)
    assert replica.writes() == [
        "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos",
        "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos",
        "START REPLICA"]
    assert result["actions"][0] == ("set gtid_slave_pos to its own binlog position 0-2-12 (it wrote as a primary "
                                    "after 0-1-10); replication starts after its own writes")
    assert result["changed"] is True


def test_former_primary_still_replicating_is_stopped_first(session_for):
    replica, source = mariadb_pair(
        replica_vars={"gtid_binlog_state": "0-2-12", "gtid_executed": "0-2-12", "gtid_slave_pos": ""},
        source_vars={"gtid_binlog_state": "0-1-13,0-2-12", "gtid_executed": "0-1-13"},
        replica_status=dict(HEALTHY_MARIADB, Master_Host="old"))
    run(replica, source, session_for)
    assert replica.writes()[:3] == ["STOP REPLICA", "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos",
                                    "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, "
                                    "MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos"]


@pytest.mark.parametrize("replica_vars, replica_status", [
    # An ordinary replica (log_slave_updates): binlog position == slave position.
    ({"gtid_binlog_state": "0-1-10", "gtid_executed": "0-1-10", "gtid_slave_pos": "0-1-10"}, None),
    # A former primary whose replication needs no change: nothing is re-pointed, nothing adopted.
    ({"gtid_binlog_state": "0-1-10,0-2-12", "gtid_executed": "0-2-12", "gtid_slave_pos": "0-1-10"},
     dict(HEALTHY_MARIADB)),
])
def test_no_adoption_when_not_a_former_primary_or_not_repointed(session_for, replica_vars, replica_status):
    replica, source = mariadb_pair(replica_vars=replica_vars, replica_status=replica_status,
                                   source_vars={"gtid_binlog_state": "0-1-13,0-2-12", "gtid_executed": "0-1-13"})
    run(replica, source, session_for)
    assert "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos" not in replica.writes()


def test_mysql_never_adopts(session_for):
    replica, source = mysql84_pair(replica_vars={"gtid_executed": "22222222-0000-0000-0000-000000000002:1-3"})
    run(replica, source, session_for, flavor=MYSQL84)
    assert not [w for w in replica.writes() if "gtid_slave_pos" in w]
