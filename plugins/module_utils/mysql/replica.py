# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role=replica: point a server at its source with GTID auto-positioning and keep it replicating.

Repairs stopped or broken threads and refuses setups that would silently diverge.

A replica that already replicates from the requested source is left alone: it is never stopped,
never reset (no RESET SLAVE/REPLICA ALL, ever) and its working password is never re-sent, unless
``refresh_password`` says the password just changed on the source: then its IO thread (on
MariaDB both threads) stops, only the password changes, and it starts again at its position.
"""
from __future__ import annotations

import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import RetryPolicy
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import detect
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.gtid import (
    format_mariadb_gtids,
    mariadb_errant,
    mariadb_position_ahead,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.primary import ensure_read_only, source_problems
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.server import (
    RUNNING,
    read_replica_status,
    read_server,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import Statement

# IO thread states that mean "running, not connected yet" (MariaDB 10.6+ adds Preparing).
STARTING = ("Connecting", "Preparing")
# Pause between status reads while a started IO thread connects (no server-side wait exists).
THREAD_START_POLL = 0.2
ER_ACCESS_DENIED = 1045
# The longest single server-side wait between two status checks.
MAX_WAIT_CHUNK = 8


class Step(object):
    """What the module does to the replica (a sentence for ``actions``) and the SQL for it."""

    def __init__(self, action, statements):
        self.action = action
        self.statements = statements

    def __repr__(self):
        return "Step(%r)" % self.action


def change_source_statement(flavor, spec):
    return Statement(flavor.statement("change_source"),
                     (spec["source_host"], spec["source_port"], spec["replication_user"],
                      spec["replication_password"]),
                     secret=[3])


def _auth_failed(status):
    return status["io_running"] != RUNNING and (
        status["last_io_errno"] == ER_ACCESS_DENIED or "access denied" in (status["last_io_error"] or "").lower())


def _last_error(status, thread):
    errno = status["last_%s_errno" % thread]
    return " (error %d: %s)" % (errno, status["last_%s_error" % thread]) if errno else ""


def plan_repairs(status, spec, flavor):
    """The steps that bring the replica to the wanted state; [] when it already is there."""
    start = Step("started replication", [flavor.statement("start_replica")])
    change = change_source_statement(flavor, spec)
    target = "%s:%d" % (spec["source_host"], spec["source_port"])
    if status is None or not status["source_host"]:
        return [Step("configured replication from %s as %s with GTID auto-positioning"
                     % (target, spec["replication_user"]), [change]), start]

    differences = []
    current = "%s:%s" % (status["source_host"], status["source_port"])
    if (status["source_host"], status["source_port"]) != (spec["source_host"], spec["source_port"]):
        differences.append("source was %s, now %s" % (current, target))
    if status["source_user"] != spec["replication_user"]:
        differences.append("user was %s, now %s" % (status["source_user"], spec["replication_user"]))
    if status["auto_position"] != flavor.statement("auto_position_value"):
        differences.append("GTID auto-positioning was off (%s), now on" % (status["auto_position"] or "none"))
    if _auth_failed(status):
        differences.append("the replication user could not log in to the source%s; password set again"
                           % _last_error(status, "io"))
    if differences:
        steps = []
        if status["io_running"] in (RUNNING,) + STARTING or status["sql_running"] == RUNNING:
            steps.append(Step("stopped replication to change its source", [flavor.statement("stop_replica")]))
        steps.append(Step("re-configured replication: %s" % "; ".join(differences), [change]))
        steps.append(start)
        return steps

    stopped = []
    if status["io_running"] not in (RUNNING,) + STARTING:
        stopped.append("IO thread was stopped%s" % _last_error(status, "io"))
    if status["sql_running"] != RUNNING:
        stopped.append("SQL thread was stopped%s" % _last_error(status, "sql"))
    if spec.get("refresh_password"):
        return [password_step(status, spec, flavor, stopped)]
    if stopped:
        return [Step("started replication: %s" % "; ".join(stopped), [flavor.statement("start_replica")])]
    return []


def password_step(status, spec, flavor, stopped):
    """Give a configured replica the source's new password, keeping its position (no reset)."""
    change = Statement(flavor.statement("change_password"), (spec["replication_password"],), secret=[0])
    running = status["io_running"] in (RUNNING,) + STARTING or status["sql_running"] == RUNNING
    statements = ([flavor.statement("stop_for_password")] if running else []) + [
        change, flavor.statement("start_replica")]
    how = "stopped and started again at its position" if running else "started at its position"
    action = "set the new replication password of %s (refresh_password): %s" % (spec["replication_user"], how)
    if stopped:
        action += "; %s" % "; ".join(stopped)
    return Step(action, statements)


def same_server(mine, theirs):
    if mine["server_uuid"] and mine["server_uuid"] == theirs["server_uuid"]:
        return True
    return (mine["hostname"], mine["port"], mine["datadir"]) == (theirs["hostname"], theirs["port"], theirs["datadir"])


def find_errant(flavor, mine, theirs, source):
    """GTIDs the replica has that the source never had, as a string ('' when none)."""
    if flavor.name == "mariadb":
        return format_mariadb_gtids(mariadb_errant(mine["gtid_binlog_state"], theirs["gtid_binlog_state"]))
    row = source.row(Statement(flavor.statement("errant_gtids"),
                               (mine["gtid_executed"], theirs["gtid_executed"],
                                mine["gtid_executed"], theirs["gtid_executed"])))
    if row is None or row["is_subset"]:
        return ""
    errant = row["errant"]
    return (errant.decode() if isinstance(errant, (bytes, bytearray)) else str(errant)).replace("\n", "")


def errant_message(replica_address, spec, errant):
    """The refusal for errant transactions: what diverged, that nothing was touched, the ways out.

    It never advises deleting data: the member refused may hold the only copy of those transactions
    (a former primary that wrote after the last replica received its binary log)."""
    return (
        "The server at %s has transactions its source %s:%d never had (errant GTIDs: %s). It is kept out of "
        "replication and its data is untouched: replicating now would silently diverge. Ways out: if the "
        "source holds the right history, keep a backup of this member first, then re-seed it from a copy of "
        "the source; if this member holds the wanted history, fail over to it (statefuldb.k8s.mysql_promote "
        "action=failover target=<this member>) or apply those transactions on the source, then run again."
        % (replica_address, spec["source_host"], spec["source_port"], errant))


def adopt_own_position(flavor, mine, steps):
    """MariaDB: a server whose binary log is ahead of its gtid_slave_pos (a former primary) that is
    (re)pointed at a source first takes its own binlog position as slave position, inserted after the
    stop and before CHANGE MASTER, so MASTER_USE_GTID=slave_pos starts after its own writes instead of
    asking the source for them again (or failing when they are not in its binary log). Only called once
    the errant check passed: the source has every one of those writes."""
    statement = flavor.statement("adopt_own_position")
    if not statement or not mariadb_position_ahead(mine["gtid_executed"], mine["gtid_slave_pos"]):
        return steps
    for index, step in enumerate(steps):
        if any(getattr(s, "sql", None) == flavor.statement("change_source") for s in step.statements):
            adopt = Step("set gtid_slave_pos to its own binlog position %s (it wrote as a primary after %s); "
                         "replication starts after its own writes" % (mine["gtid_executed"], mine["gtid_slave_pos"]
                                                                      or "an empty slave position"),
                         [statement])
            return steps[:index] + [adopt] + steps[index:]
    return steps


def check_pair(flavor, source_flavor, mine, theirs, spec, replica_address, source_address):
    """Refuse setups that cannot work or would diverge, before anything is written."""
    target = "%s:%d" % (spec["source_host"], spec["source_port"])
    if source_flavor.name != flavor.name:
        raise MySQLReplicationError(
            "The replica at %s is %s but the source %s is %s: GTID replication between them is not "
            "supported by this module." % (replica_address, flavor.name, target, source_flavor.name))
    if same_server(mine, theirs):
        raise MySQLReplicationError(
            "source_host=%s source_port=%d is this server itself (the replica at %s has the same %s): "
            "a server cannot replicate from itself. Point source_host at the primary."
            % (spec["source_host"], spec["source_port"], replica_address,
               "server_uuid" if mine["server_uuid"] else "hostname, port and datadir"))
    if mine["server_id"] == theirs["server_id"]:
        raise MySQLReplicationError(
            "The replica at %s and its source %s both have server_id %d; replication needs a unique "
            "server_id per server. Set a different server-id on the replica and restart it."
            % (replica_address, target, mine["server_id"]), server_id=mine["server_id"])
    problems = source_problems(source_flavor, theirs)
    if problems:
        raise MySQLReplicationError(
            "The source %s (checked at %s) cannot be a replication source: %s."
            % (target, source_address, "; ".join(problems)))
    if flavor.name == "mysql":
        replica_problems = [p for p in source_problems(flavor, mine) if "log_bin" not in p and "server_id" not in p]
        if replica_problems:
            raise MySQLReplicationError("The replica at %s cannot use GTID auto-positioning: %s."
                                        % (replica_address, "; ".join(replica_problems)))


def wait_caught_up(replica, flavor, target_gtids, timeout, clock=time.monotonic, sleep=time.sleep,
                   fail_on_timeout=True, require_receiver=True):
    """Wait (server-side, in growing chunks) until the replica applied ``target_gtids`` and both
    threads run.

    Fails at once when a thread stops with an error; returns the last status and caught_up.
    With ``fail_on_timeout=False`` a replica still behind at the deadline is not an error.
    With ``require_receiver=False`` only the applier counts (a failover candidate applying its relay
    log: the source is gone, its IO thread is stopped or failing on purpose): the wait ends as soon as
    ``target_gtids`` are applied, and only an SQL thread error fails it, worded for that case.
    """
    deadline = RetryPolicy(timeout, clock=clock, sleep=sleep)
    chunk = 1
    reached = False
    while True:
        if not reached:
            remaining = deadline.remaining()
            wait = max(1, min(chunk, int(remaining) if remaining > 1 else 1))
            reached = replica.value(Statement(flavor.statement("wait_for_gtid"), (target_gtids, wait))) == 0
        status = read_replica_status(replica, flavor)
        if reached and (not require_receiver or (
                status and status["io_running"] == RUNNING and status["sql_running"] == RUNNING)):
            return status, True
        if status is None:
            raise MySQLReplicationError("Replication is not configured on the replica any more.")
        if status["sql_running"] != RUNNING and status["last_sql_errno"]:
            if not require_receiver:
                # The caller knows which member this is and what the way out is.
                raise MySQLReplicationError(
                    "The replica's SQL thread stopped with error %d while applying its relay log: %s."
                    % (status["last_sql_errno"], status["last_sql_error"]), replica_status=status)
            raise MySQLReplicationError(
                "The replica's SQL thread stopped with error %d: %s. The module does not skip "
                "transactions: repair the data on the replica (or rebuild it from the primary) and "
                "run again." % (status["last_sql_errno"], status["last_sql_error"]), replica_status=status)
        if require_receiver and status["io_running"] != RUNNING and status["last_io_errno"]:
            # Connecting + an error: the next retry is up to MASTER_CONNECT_RETRY seconds away.
            raise MySQLReplicationError(
                "The replica's IO thread cannot replicate from the source (IO thread: %s, error %d: %s). "
                "Check that the replica server itself can reach and log in to source_host:source_port."
                % (status["io_running"], status["last_io_errno"], status["last_io_error"]),
                replica_status=status)
        if deadline.expired():
            if reached or not fail_on_timeout:
                return status, reached
            raise MySQLReplicationError(
                "The replica did not catch up with the source within wait_timeout=%ss (IO thread: %s, "
                "SQL thread: %s, seconds behind source: %s%s). Raise wait_timeout or set wait=false."
                % (timeout, status["io_running"], status["sql_running"], status["seconds_behind_source"],
                   "; last IO error: %s" % status["last_io_error"] if status["last_io_errno"] else ""),
                replica_status=status)
        chunk = min(chunk * 2, MAX_WAIT_CHUNK)
        if reached:
            sleep(THREAD_START_POLL)


def _config_view(status, read_only):
    """The part of the replica's state shown in diff mode (no secrets)."""
    if status is None:
        return {"source_host": None, "source_port": None, "source_user": None, "auto_position": None,
                "io_running": None, "sql_running": None, "read_only": read_only}
    keys = ("source_host", "source_port", "source_user", "auto_position", "io_running", "sql_running")
    return dict({key: status[key] for key in keys}, read_only=read_only)


def ensure_replica(replica, flavor, open_source, spec, replica_address, clock=time.monotonic):
    """Returns the module result (without queries); raises MySQLReplicationError to refuse.

    ``open_source()`` returns a SqlSession on the source logged in as the replication user; it
    proves the credentials work and lets us compare server ids and GTIDs before changing anything.
    """
    mine = read_server(replica, flavor)
    source = open_source()
    try:
        source_flavor = detect(source)
        theirs = read_server(source, source_flavor)
        check_pair(flavor, source_flavor, mine, theirs, spec, replica_address, source.address)
        errant = find_errant(flavor, mine, theirs, source)
        if errant:
            raise MySQLReplicationError(errant_message(replica_address, spec, errant), errant_gtids=errant)
    finally:
        source.close()

    status = read_replica_status(replica, flavor)
    before = _config_view(status, mine["read_only"])
    steps = adopt_own_position(flavor, mine, plan_repairs(status, spec, flavor))
    actions = []
    for step in steps:
        for statement in step.statements:
            replica.write(statement)
        actions.append(step.action)
    ensure_read_only(replica, mine["read_only"], spec.get("read_only"), actions)
    read_only = mine["read_only"] if spec.get("read_only") is None else bool(spec["read_only"])

    caught_up = None
    if not replica.check_mode:
        # wait=false still looks for a second, to report caught_up and threads that fail at once.
        timeout = spec["wait_timeout"] if spec["wait"] else 1
        try:
            status, caught_up = wait_caught_up(replica, flavor, theirs["gtid_executed"], timeout, clock,
                                               fail_on_timeout=spec["wait"])
        except MySQLReplicationError as exc:
            # What we already changed is part of the failure report.
            exc.details.update(changed=bool(actions), actions=actions)
            raise
    after = _config_view(status, read_only)
    if replica.check_mode and steps:
        after.update(source_host=spec["source_host"], source_port=spec["source_port"],
                     source_user=spec["replication_user"], auto_position=flavor.statement("auto_position_value"),
                     io_running=RUNNING, sql_running=RUNNING)
    mine_after = read_server(replica, flavor) if not replica.check_mode else mine

    result = {
        "changed": bool(actions),
        "actions": actions,
        "flavor": flavor.name,
        "server_version": flavor.version_string,
        "server_id": mine["server_id"],
        "source_host": spec["source_host"],
        "source_port": spec["source_port"],
        "source_server_id": theirs["server_id"],
        "io_running": status["io_running"] if status else None,
        "sql_running": status["sql_running"] if status else None,
        "seconds_behind_source": status["seconds_behind_source"] if status else None,
        "last_io_error": (status["last_io_error"] or None) if status else None,
        "last_sql_error": (status["last_sql_error"] or None) if status else None,
        "caught_up": caught_up,
        "read_only": read_only,
        "gtid_executed": mine_after["gtid_executed"],
        "source_gtid_executed": theirs["gtid_executed"],
        "diff": {"before": before, "after": after},
    }
    if flavor.name == "mariadb":
        result["gtid_slave_pos"] = mine_after["gtid_slave_pos"]
        result["gtid_current_pos"] = mine_after["gtid_current_pos"]
    return result
