"""mysql_promote decisions against fake MariaDB and MySQL 8.4 servers: validation, switchover (refusals write
nothing, undo on timeout and on a moved position), failover (most advanced, unreachable, healthy primary)."""
import pytest
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.mysql.mysql_fakes import (
    MYSQL_84_REMOVED, Clock, FakeServer, mariadb_variables, mysql_variables)

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import ConnectError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.promote import choose_most_advanced, run, validate
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.gtid import mariadb_state

MEMBERS = [{"name": "db-0", "host": "10.0.0.10", "port": 3306}, {"name": "db-1", "host": "10.0.0.11", "port": 3306},
           {"name": "db-2", "host": "10.0.0.12", "port": 3306}]
PARAMS = {"action": "switchover", "members": MEMBERS, "primary": "db-0", "target": "db-1", "login_user": "root",
          "login_password": "pw", "connect_timeout": 5, "max_lag": 10, "timeout": 60, "force": False}
RO_ON, RO_OFF = "SET GLOBAL read_only = ON", "SET GLOBAL read_only = OFF"
ADOPT = "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos"


class PromoteFake(FakeServer):
    """FakeServer plus what promote.py sends: processlist and KILL, positions, read_only, RESET ... ALL."""

    def __init__(self, processlist=None, positions=None, semi_sync=None, semi_sync_status=None, fail_on=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.processlist = list(processlist or [])
        self.positions = list(positions or [])
        self.semi_sync = semi_sync or {}
        self.semi_sync_status = semi_sync_status or {}
        self.fail_on = fail_on or {}

    def answer(self, sql, args):
        upper = sql.upper()
        for prefix, error in self.fail_on.items():
            if upper.startswith(prefix.upper()):
                raise error
        handled = True
        rows = []
        if upper.startswith("SELECT ID AS ID"):
            rows = [dict(row) for row in self.processlist]
        elif upper.startswith("KILL CONNECTION"):
            self.processlist = [row for row in self.processlist if row["id"] != args[0]]
        elif upper.startswith("SELECT @@GLOBAL.GTID_BINLOG_POS AS POSITION") or upper.startswith(
                "SELECT @@GLOBAL.GTID_EXECUTED AS POSITION"):
            rows = [{"position": self.positions.pop(0) if self.positions else self.variables["gtid_executed"]}]
        elif upper.startswith("SHOW GLOBAL VARIABLES LIKE"):
            rows = [{"Variable_name": k, "Value": v} for k, v in self.semi_sync.items()]
        elif upper.startswith("SHOW GLOBAL STATUS LIKE"):
            rows = [{"Variable_name": k, "Value": v} for k, v in self.semi_sync_status.items()]
        elif upper.startswith("SET GLOBAL READ_ONLY = ") and not args:
            self.variables["read_only"] = 1 if upper.endswith("ON") else 0
        elif upper.startswith("SET GLOBAL SUPER_READ_ONLY = "):
            if upper.endswith("ON"):
                self.variables["read_only"] = 1
        elif upper.startswith(("RESET SLAVE ALL", "RESET REPLICA ALL")):
            self.status = None
        elif upper.startswith(("STOP ", "START ")) and self.status is None:
            pass
        elif upper == ADOPT.upper():
            self.variables["gtid_slave_pos"] = self.variables["gtid_executed"]
        else:
            handled = False
        if handled:
            self.executed.append((sql, args))
            return rows
        return super().answer(sql, args)


def replica_row(**overrides):
    values = {"Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Master_Host": "db-0.db", "Master_Port": 3306,
              "Master_User": "repl", "Using_Gtid": "Slave_Pos", "Seconds_Behind_Master": 0, "Last_IO_Errno": 0,
              "Last_IO_Error": "", "Last_SQL_Errno": 0, "Last_SQL_Error": "", "Master_Server_Id": 1,
              "Gtid_IO_Pos": ""}
    values.update(overrides)
    return values


CLIENTS = [{"id": 11, "user": "app", "command": "Query"}, {"id": 12, "user": "root", "command": "Sleep"},
           {"id": 13, "user": "repl", "command": "Binlog Dump"}, {"id": 14, "user": "system user", "command": "Daemon"},
           {"id": 15, "user": "event_scheduler", "command": "Daemon"}]


def mariadb_cluster(primary=None, r1=None, r2=None, r1_status=None, r2_status=None, **fake):
    """db-0 primary (server 1, at 0-1-10), db-1 and db-2 healthy replicas caught up."""
    servers = {
        "db-0": PromoteFake(processlist=CLIENTS, variables=mariadb_variables(**dict(
            {"server_id": 1, "hostname": "db-0", "gtid_executed": "0-1-10", "gtid_binlog_state": "0-1-10",
             "gtid_current_pos": "0-1-10"}, **(primary or {}))), **fake.get("primary_fake", {})),
        "db-1": PromoteFake(variables=mariadb_variables(**dict(
            {"server_id": 2, "hostname": "db-1", "read_only": 1, "gtid_executed": "0-1-10",
             "gtid_binlog_state": "0-1-10", "gtid_slave_pos": "0-1-10"}, **(r1 or {}))),
            status=replica_row(**(r1_status or {})), **fake.get("r1_fake", {})),
        "db-2": PromoteFake(variables=mariadb_variables(**dict(
            {"server_id": 3, "hostname": "db-2", "read_only": 1, "gtid_executed": "0-1-10",
             "gtid_binlog_state": "0-1-10", "gtid_slave_pos": "0-1-10"}, **(r2 or {}))),
            status=replica_row(**(r2_status or {})), **fake.get("r2_fake", {})),
    }
    return servers


def promote_run(servers, check_mode=False, clock=None, **params):
    clock = clock or Clock()
    queries = []

    def connect_member(member):
        server = servers[member.name]
        if isinstance(server, Exception):
            raise server
        return server

    result = run(dict(PARAMS, **params), check_mode, queries, connect_member=connect_member, clock=clock,
                 sleep=clock.sleep)
    return result, queries


def refused(servers, **params):
    with pytest.raises(MySQLReplicationError) as caught:
        promote_run(servers, **params)
    return caught.value


def gone():
    return ConnectError("Cannot reach member db-0 at 10.0.0.10:3306: Connection refused.", "network")


# --- validation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("params, message", [
    ({"target": "db-9"}, "target=db-9 is not a member; the members are: db-0, db-1, db-2."),
    ({"primary": "mysql-0"}, "primary=mysql-0 is not a member; the members are: db-0, db-1, db-2."),
    ({"target": None}, "target is required for action=switchover"),
    ({"force": True}, "force applies to action=failover only"),
    ({"action": "failover", "target": "db-0"}, "target=db-0 is the recorded primary"),
    ({"members": []}, "members is empty"),
    ({"members": MEMBERS + [dict(MEMBERS[0])]}, "members lists db-0 twice"),
    ({"members": [dict(MEMBERS[0], host="db 0")]}, "members[0].host: 'db 0' is not a host name"),
    ({"timeout": 0}, "timeout must be at least 1"),
    ({"max_lag": -1}, "max_lag must be at least 0"),
])
def test_validation_names_the_option(params, message):
    with pytest.raises(MySQLReplicationError) as caught:
        validate(dict(PARAMS, **params))
    assert message in caught.value.msg


# --- switchover -----------------------------------------------------------------------------------------

def test_mariadb_switchover_in_order():
    servers = mariadb_cluster()
    clock = Clock()
    original = servers["db-1"].answer

    def answer(sql, args):  # the target needs 1.5 s to apply the position
        if sql.startswith("SELECT MASTER_GTID_WAIT"):
            clock.now += 1.5
        return original(sql, args)

    servers["db-1"].answer = answer
    result, queries = promote_run(servers, clock=clock)
    old, new = servers["db-0"], servers["db-1"]
    # Only client connections were ended: not the binlog dump thread, not server threads.
    assert old.writes() == [RO_ON, "KILL CONNECTION %s", "KILL CONNECTION %s", ADOPT]
    assert [args for sql, args in old.executed if sql.startswith("KILL")] == [(11,), (12,)]
    assert new.writes() == ["STOP REPLICA", "RESET REPLICA ALL", RO_OFF]
    assert ("SELECT MASTER_GTID_WAIT(%s, %s)", ("0-1-10", 1)) in new.executed
    assert servers["db-2"].executed == []  # the other replica is the role's job (mysql_replication)
    assert old.variables["read_only"] == 1 and new.variables["read_only"] == 0
    assert old.variables["gtid_slave_pos"] == "0-1-10"
    assert result["changed"] is True
    assert (result["previous_primary"], result["primary"], result["gtid_position"]) == ("db-0", "db-1", "0-1-10")
    assert result["write_unavailable_seconds"] == 1.5
    assert result["diff"] == {"before": {"primary": "db-0", "read_only": {"db-0": False, "db-1": True}},
                              "after": {"primary": "db-1", "read_only": {"db-0": True, "db-1": False}}}
    assert result["actions"][0] == "set db-0 read-only (SET GLOBAL read_only = ON)"
    assert "ended 2 client connection(s) on db-0 (ids 11, 12)" in result["actions"][1]
    assert "/* db-0 */ SET GLOBAL read_only = ON" in queries and "/* db-1 */ RESET REPLICA ALL" in queries


def test_mysql84_switchover_uses_super_read_only_and_no_slave_position():
    uuid1, uuid2 = "11111111-0000-0000-0000-000000000001", "22222222-0000-0000-0000-000000000002"
    kw = dict(version="8.4.3", comment="MySQL Community Server - GPL", removed=MYSQL_84_REMOVED)
    servers = {
        "db-0": PromoteFake(variables=mysql_variables(server_id=1, hostname="db-0", server_uuid=uuid1,
                                                      gtid_executed=uuid1 + ":1-10"), **kw),
        "db-1": PromoteFake(variables=mysql_variables(server_id=2, read_only=1, server_uuid=uuid2,
                                                      gtid_executed=uuid1 + ":1-10"),
                            status={"Replica_IO_Running": "Yes", "Replica_SQL_Running": "Yes", "Source_Host": "db-0.db",
                                    "Source_Port": 3306, "Source_User": "repl", "Auto_Position": "1",
                                    "Seconds_Behind_Source": 1, "Last_IO_Errno": 0, "Last_IO_Error": "",
                                    "Last_SQL_Errno": 0, "Last_SQL_Error": "", "Source_Server_Id": 1,
                                    "Retrieved_Gtid_Set": uuid1 + ":1-10"}, **kw),
        "db-2": PromoteFake(variables=mysql_variables(server_id=3), **kw),
    }
    result, queries = promote_run(servers)
    assert servers["db-0"].writes() == ["SET GLOBAL super_read_only = ON"]
    assert servers["db-1"].writes() == ["STOP REPLICA", "RESET REPLICA ALL", "SET GLOBAL super_read_only = OFF",
                                        "SET GLOBAL read_only = OFF"]
    assert ("SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s)", (uuid1 + ":1-10", 1)) in servers["db-1"].executed
    assert result["gtid_position"] == uuid1 + ":1-10"
    assert not [q for q in queries if "SLAVE" in q or "MASTER" in q]


@pytest.mark.parametrize("r1_status, message", [
    ({"Seconds_Behind_Master": 42}, "target db-1 lags 42 seconds behind the primary db-0 (max_lag=10)"),
    ({"Seconds_Behind_Master": None}, "lags an unknown number of seconds"),
    ({"Slave_SQL_Running": "No", "Last_SQL_Errno": 1062, "Last_SQL_Error": "Duplicate entry"},
     "target db-1 is not replicating (IO thread: Yes, SQL thread: No, last SQL error 1062: Duplicate entry). "
     "Repair it first (mysql_replication role=replica"),
    ({"Slave_IO_Running": "Connecting"}, "IO thread: Connecting, SQL thread: Yes"),
    ({"Master_Server_Id": 7, "Master_Host": "elsewhere"}, "target db-1 replicates from elsewhere:3306 (server_id 7), "
                                                          "not from the primary db-0 (server_id 1)"),
    ({"Master_Host": ""}, "target db-1 does not replicate from anything"),
])
def test_switchover_refuses_a_target_that_cannot_take_over_and_writes_nothing(r1_status, message):
    servers = mariadb_cluster(r1_status=r1_status)
    error = refused(servers)
    assert message in error.msg
    assert servers["db-0"].writes() == [] and servers["db-1"].writes() == []


def test_switchover_refuses_errant_target():
    servers = mariadb_cluster(r1={"gtid_binlog_state": "0-1-10,0-2-11", "gtid_executed": "0-2-11"})
    error = refused(servers)
    assert "errant GTIDs: 0-2-11" in error.msg and error.details["errant_gtids"] == "0-2-11"
    assert servers["db-0"].writes() == []


def test_switchover_refuses_a_target_without_binary_log():
    servers = mariadb_cluster(r1={"log_bin": 0})
    assert "target db-1 cannot be a primary: binary logging is off" in refused(servers).msg


def test_timeout_undoes_read_only_on_the_old_primary():
    servers = mariadb_cluster(r1_fake={"wait_results": [-1] * 20})
    clock = Clock()
    original = servers["db-1"].answer

    def answer(sql, args):
        if sql.startswith("SELECT MASTER_GTID_WAIT"):
            clock.now += args[1]
        return original(sql, args)

    servers["db-1"].answer = answer
    error = refused(servers, clock=clock, timeout=5)
    assert "target db-1 did not apply the primary's position 0-1-10 within timeout=5s" in error.msg
    assert "db-0 is writable again and still the primary" in error.msg
    assert servers["db-0"].writes()[0] == RO_ON and servers["db-0"].writes()[-1] == RO_OFF
    assert servers["db-0"].variables["read_only"] == 0
    assert servers["db-1"].writes() == []
    assert error.details["changed"] is True
    assert error.details["actions"][-1] == "made db-0 writable again (read_only OFF): the switchover was refused"


def test_a_thread_error_while_waiting_also_undoes():
    servers = mariadb_cluster(r1_fake={"wait_results": [-1]})
    original = servers["db-1"].answer

    def answer(sql, args):
        if sql.startswith("SELECT MASTER_GTID_WAIT"):
            servers["db-1"].status.update(Slave_SQL_Running="No", Last_SQL_Errno=1146, Last_SQL_Error="no table")
        return original(sql, args)

    servers["db-1"].answer = answer
    error = refused(servers)
    assert "could not apply the primary's position 0-1-10" in error.msg and "error 1146" in error.msg
    assert servers["db-0"].variables["read_only"] == 0


def test_a_privileged_writer_that_slipped_in_undoes_and_names_the_gtids():
    servers = mariadb_cluster(primary_fake={"positions": ["0-1-10", "0-1-11"]})
    error = refused(servers)
    assert "the primary db-0 wrote after it was made read-only (GTIDs 0-1-11, position 0-1-10 -> 0-1-11)" in error.msg
    assert servers["db-0"].variables["read_only"] == 0
    assert servers["db-1"].writes() == []


def test_a_promotion_failing_before_reset_gives_writes_back():
    servers = mariadb_cluster(r1_fake={"fail_on": {"RESET REPLICA ALL": MySQLReplicationError("denied")}})
    error = refused(servers)
    assert "db-1 replicates again and db-0 is writable again" in error.msg
    assert servers["db-1"].writes() == ["STOP REPLICA", "START REPLICA"]
    assert servers["db-0"].variables["read_only"] == 0


def test_a_promotion_failing_after_reset_keeps_the_old_primary_read_only():
    servers = mariadb_cluster(r1_fake={"fail_on": {"SET GLOBAL read_only = OFF": MySQLReplicationError("denied")}})
    error = refused(servers)
    assert "db-0 stays read-only so that two writers never diverge" in error.msg
    assert servers["db-0"].variables["read_only"] == 1


def test_switchover_to_the_working_primary_is_a_no_op():
    servers = mariadb_cluster()
    result, unused = promote_run(servers, target="db-0")
    assert result["changed"] is False and result["primary"] == "db-0" and result["actions"] == []
    assert servers["db-0"].writes() == []


def test_switchover_to_a_recorded_primary_that_is_read_only_is_refused():
    servers = mariadb_cluster(primary={"read_only": 1})
    error = refused(servers, target="db-0")
    assert "target=db-0 is already the recorded primary, but it is read-only" in error.msg


def test_switchover_check_mode_writes_nothing_and_lists_the_writes():
    servers = mariadb_cluster()
    result, queries = promote_run(servers, check_mode=True)
    assert result["changed"] is True and result["write_unavailable_seconds"] is None
    assert all(server.writes() == [] for server in servers.values())
    assert "/* db-0 */ SET GLOBAL read_only = ON" in queries and "/* db-0 */ KILL CONNECTION 11" in queries
    assert "/* db-1 */ RESET REPLICA ALL" in queries
    assert not [q for q in queries if "MASTER_GTID_WAIT" in q]


def test_an_unreachable_primary_is_named_for_switchover():
    servers = mariadb_cluster()
    servers["db-0"] = gone()
    error = refused(servers)
    assert error.msg.startswith("Cannot use db-0 at 10.0.0.10:3306 (the primary): Cannot reach member db-0")


# --- failover -------------------------------------------------------------------------------------------

FAILOVER = {"action": "failover", "target": None}


def test_failover_picks_the_most_advanced_replica_and_lets_it_apply_its_relay_log():
    servers = mariadb_cluster(
        r1={"gtid_binlog_state": "0-1-8", "gtid_slave_pos": "0-1-8", "gtid_executed": "0-1-8"},
        r1_status={"Slave_IO_Running": "Connecting", "Last_IO_Errno": 2003, "Gtid_IO_Pos": "0-1-8"},
        r2={"gtid_binlog_state": "0-1-9", "gtid_slave_pos": "0-1-9", "gtid_executed": "0-1-9"},
        r2_status={"Slave_IO_Running": "Connecting", "Last_IO_Errno": 2003, "Gtid_IO_Pos": "0-1-10"})
    servers["db-0"] = gone()
    result, queries = promote_run(servers, **FAILOVER)
    chosen = servers["db-2"]
    assert result["primary"] == "db-2" and result["previous_primary"] == "db-0" and result["changed"] is True
    assert chosen.writes() == ["STOP REPLICA IO_THREAD", "STOP REPLICA", "RESET REPLICA ALL", RO_OFF]
    # It received 0-1-10 and waited until it applied it.
    assert ("SELECT MASTER_GTID_WAIT(%s, %s)", ("0-1-10", 1)) in chosen.executed
    assert servers["db-1"].writes() == []
    # MariaDB: the last GTID of each (domain, server_id) the member lacks.
    assert result["behind"] == {"db-0": "unreachable", "db-1": "0-1-10"}
    assert result["unreachable"] == ["db-0"]
    lost = result["may_have_lost"]
    assert lost["semi_sync"] == "off" and "may be lost" in lost["warning"]
    assert lost["warning"] in result["warnings"]


def test_failover_prefers_the_first_listed_on_a_tie():
    servers = mariadb_cluster()
    servers["db-0"] = gone()
    result, unused = promote_run(servers, **FAILOVER)
    assert result["primary"] == "db-1" and result["behind"]["db-2"] == ""


def test_failover_refuses_a_healthy_primary():
    servers = mariadb_cluster()
    error = refused(servers, **FAILOVER)
    assert error.msg == ("the primary db-0 is healthy (it answers at 10.0.0.10:3306 and is writable): use "
                         "action=switchover, or force=true to fail over anyway (it is then made read-only first).")
    assert all(server.writes() == [] for server in servers.values())


def test_forced_failover_fences_a_writable_primary_first():
    servers = mariadb_cluster()
    result, unused = promote_run(servers, force=True, **FAILOVER)
    assert servers["db-0"].writes()[0] == RO_ON and servers["db-0"].variables["read_only"] == 1
    assert result["primary"] == "db-1"
    assert result["may_have_lost"]["old_primary_extra"] == ""


def test_failover_refuses_while_a_replica_does_not_answer_and_force_goes_on():
    servers = mariadb_cluster()
    servers["db-0"] = gone()
    servers["db-2"] = ConnectError("Cannot reach member db-2 at 10.0.0.12:3306: timed out.", "network")
    error = refused(servers, **FAILOVER)
    assert "Cannot fail over while db-2 does not answer" in error.msg and "timed out" in error.msg
    assert error.details["unreachable"] == ["db-2"]
    assert servers["db-1"].writes() == []
    result, unused = promote_run(servers, force=True, **FAILOVER)
    assert result["primary"] == "db-1" and result["behind"]["db-2"] == "unreachable"
    assert "Not compared: db-2 did not answer" in result["may_have_lost"]["warning"]


def test_failover_refuses_a_target_behind_another_replica():
    servers = mariadb_cluster(r2={"gtid_binlog_state": "0-1-12", "gtid_slave_pos": "0-1-12"})
    servers["db-0"] = gone()
    error = refused(servers, action="failover", target="db-1")
    assert "target=db-1 is not the most advanced reachable replica: db-2 has 0-1-12" in error.msg
    assert "the most advanced is db-2" in error.msg


def test_failover_refuses_diverged_replicas():
    servers = mariadb_cluster(r1={"gtid_binlog_state": "0-1-10,0-2-11"}, r2={"gtid_binlog_state": "0-1-12"})
    servers["db-0"] = gone()
    assert "have diverged" in refused(servers, **FAILOVER).msg


def test_failover_starts_a_stopped_sql_thread_and_refuses_a_broken_one():
    servers = mariadb_cluster(r1_status={"Slave_SQL_Running": "No", "Gtid_IO_Pos": "0-1-10"},
                              r2_status={"Slave_SQL_Running": "No", "Gtid_IO_Pos": "0-1-10"})
    servers["db-0"] = gone()
    result, unused = promote_run(servers, **FAILOVER)
    assert "START REPLICA SQL_THREAD" in servers["db-1"].writes()
    assert "started the SQL thread of db-1 to apply its relay log" in result["actions"]

    servers = mariadb_cluster(r1_status={"Slave_SQL_Running": "No", "Last_SQL_Errno": 1032, "Gtid_IO_Pos": "0-1-10"})
    servers["db-0"] = gone()
    error = refused(servers, **FAILOVER)
    assert "db-1 cannot apply what it received (SQL thread stopped with error 1032" in error.msg


def test_failover_refuses_a_target_whose_sql_thread_fails_on_its_relay_log_and_force_goes_on():
    def failing(servers):
        original = servers["db-1"].answer

        def answer(sql, args):
            if sql.startswith("SELECT MASTER_GTID_WAIT"):
                servers["db-1"].status.update(Slave_SQL_Running="No", Last_SQL_Errno=1032, Last_SQL_Error="no row")
            return original(sql, args)

        servers["db-1"].answer = answer
        servers["db-0"] = gone()
        return servers

    relay = {"Slave_IO_Running": "Connecting", "Last_IO_Errno": 2003, "Gtid_IO_Pos": "0-1-11"}
    servers = failing(mariadb_cluster(r1_status=relay, r1_fake={"wait_results": [-1]}))
    error = refused(servers, action="failover", target="db-1")
    assert error.msg == ("db-1: The replica's SQL thread stopped with error 1032 while applying its relay log: no row. "
                         "Repair it, choose another target, or set force=true to promote it without the rest of its "
                         "relay log.")
    assert servers["db-1"].writes() == ["STOP REPLICA IO_THREAD"]
    servers = failing(mariadb_cluster(r1_status=relay, r1_fake={"wait_results": [-1]}))
    result, unused = promote_run(servers, force=True, action="failover", target="db-1")
    assert result["primary"] == "db-1" and result["may_have_lost"]["unapplied"] == "0-1-11"


def test_failover_says_unknown_when_replicas_had_semi_sync():
    servers = mariadb_cluster(r1_fake={"semi_sync": {"rpl_semi_sync_slave_enabled": "ON"}})
    servers["db-0"] = gone()
    result, unused = promote_run(servers, **FAILOVER)
    assert result["may_have_lost"]["semi_sync"] == "unknown"
    assert "is unknown" in result["may_have_lost"]["warning"]


def test_failover_check_mode_writes_nothing():
    servers = mariadb_cluster()
    servers["db-0"] = gone()
    result, queries = promote_run(servers, check_mode=True, **FAILOVER)
    assert result["changed"] is True and all(s.writes() == [] for s in servers.values() if hasattr(s, "writes"))
    assert "/* db-1 */ RESET REPLICA ALL" in queries


# --- choosing -------------------------------------------------------------------------------------------

def test_choose_most_advanced_mariadb_and_mysql():
    states = [("a", mariadb_state("0-1-5")), ("b", mariadb_state("0-1-7")), ("c", mariadb_state("0-1-7"))]
    assert choose_most_advanced("mariadb", states) == ("b", [])
    chosen, notes = choose_most_advanced("mariadb", states, target="a", force=True)
    assert chosen == "a" and "lacks GTIDs" in notes[0]
    uuid = "11111111-0000-0000-0000-000000000001"
    sets = [("a", "%s:1-10" % uuid), ("b", "%s:1-12" % uuid)]
    assert choose_most_advanced("mysql", sets) == ("b", [])
    diverged = [("a", "%s:1-10:12" % uuid), ("b", "%s:1-11" % uuid)]
    with pytest.raises(MySQLReplicationError, match="diverged"):
        choose_most_advanced("mysql", diverged)
    chosen, notes = choose_most_advanced("mysql", diverged, force=True)
    assert chosen == "a" and "force" in notes[0]


def test_failover_refuses_a_read_only_old_primary_that_is_ahead():
    servers = mariadb_cluster(primary={"read_only": 1, "gtid_binlog_state": "0-1-12", "gtid_executed": "0-1-12"})
    error = refused(servers, **FAILOVER)
    assert "the old primary db-0 answers (read-only) and has transactions db-1 lacks (0-1-12)" in error.msg
    assert all(server.writes() == [] for server in servers.values())
    result, unused = promote_run(servers, force=True, **FAILOVER)
    assert result["may_have_lost"]["old_primary_extra"] == "0-1-12"
    assert "has transactions the new primary db-1 lacks (0-1-12)" in result["may_have_lost"]["warning"]


def test_failover_with_a_read_only_old_primary_that_is_not_ahead_goes_on():
    servers = mariadb_cluster(primary={"read_only": 1})
    result, unused = promote_run(servers, **FAILOVER)
    assert result["primary"] == "db-1" and result["unreachable"] == []
    assert servers["db-0"].writes() == []


def test_a_late_privileged_write_after_the_handover_is_a_warning():
    servers = mariadb_cluster(primary_fake={"positions": ["0-1-10", "0-1-10", "0-1-11"]})
    result, unused = promote_run(servers)
    assert result["primary"] == "db-1"
    assert result["warnings"] == ["db-0 wrote 0-1-11 after the handover (a SUPER / READ ONLY ADMIN account): those "
                                  "transactions are not on db-1. mysql_replication will refuse to repoint db-0 until "
                                  "they are applied on db-1; its data is kept."]
