# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mysql_promote without Ansible: move the primary role to another member (switchover) or to the most
advanced replica once the primary is gone (failover).

Switchover never loses an acknowledged write and never leaves the cluster without a writer when it
refuses: the old primary is made read-only (and, because read_only does not stop SUPER / READ ONLY
ADMIN accounts on MariaDB, its other client connections are ended so their unacknowledged transactions
roll back), its GTID position is read, the target must apply exactly that position within ``timeout``
and the old primary must not have moved meanwhile; any refusal from then on makes the old primary
writable again. Only then is the target promoted (replication stopped and removed, read_only OFF).
The cost: writes fail for ``write_unavailable_seconds`` (read_only ON on the old primary to read_only
OFF on the target), and clients of the old primary lose their connection.

Failover cannot read the dead primary. It refuses while the recorded primary still answers as a
writable server, or while a replica does not answer (it might hold more than the others), unless
``force``; it picks the replica whose received-and-applied GTIDs contain every other reachable
replica's (ties: the first listed), lets it apply its relay log, promotes it, and reports honestly
what may be lost (``may_have_lost``) and how far every other member is behind (``behind``).

Neither action repoints the other members: the caller (the mysql_cluster role) records the new
primary and runs mysql_replication role=replica on every other member against the new primary's
stable name. A MariaDB old primary is prepared for that in the switchover (gtid_slave_pos set to its
binlog position); replica.py does the same for any former primary it repoints.

Every statement run is recorded in ``queries``, prefixed with the member's name.
"""
from __future__ import annotations

import dataclasses
import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import RetryPolicy
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import (
    ConnectionSettings,
    connect,
    settings_for,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import detect
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.gtid import (
    format_mariadb_gtids,
    format_mysql_gtid_set,
    mariadb_missing,
    mariadb_state,
    mariadb_transactions,
    mysql_subtract,
    mysql_transactions,
    mysql_union,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.primary import source_problems
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.replica import MAX_WAIT_CHUNK, wait_caught_up
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.server import (
    RUNNING,
    SEMI_SYNC_STATUS,
    read_replica_status,
    read_server,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import SqlSession, Statement
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.validation import (
    host_error,
    port_error,
    user_error,
)

# Client connections of a server, without our own. Same on MariaDB and MySQL.
PROCESSLIST = ("SELECT ID AS id, USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST"
               " WHERE ID <> CONNECTION_ID()")
KILL = "KILL CONNECTION %s"
# Never ended: replication threads (the binlog dump threads feed the replicas), server threads.
SYSTEM_USERS = frozenset(["system user", "event_scheduler"])
SYSTEM_COMMANDS = frozenset(["Binlog Dump", "Binlog Dump GTID", "Daemon", "Killed", "Slave_IO", "Slave_SQL",
                             "Slave_worker", "Register Slave"])
ER_NO_SUCH_THREAD = 1094
# How long killed connections get to finish rolling back before the position is read.
KILL_SETTLE_SECONDS = 5
POLL = 0.1
SEMI_SYNC_VARIABLES = "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'"


@dataclasses.dataclass
class Member:
    """One member of the cluster and what was read from it."""

    name: str
    host: str
    port: int
    session: object = None
    error: str = None
    flavor: object = None
    server: dict = None
    status: dict = None
    state: object = None        # received and applied GTIDs (failover)

    @property
    def address(self):
        return "%s:%s" % (self.host, self.port)


# --- input -------------------------------------------------------------------------------------------

def validate(params):
    """Input mistakes, named before connecting anywhere."""
    members = params.get("members") or []
    if not members:
        raise MySQLReplicationError("members is empty; list every member of the cluster (name, host, port).")
    names = []
    for index, member in enumerate(members):
        name = member.get("name")
        if not name:
            raise MySQLReplicationError("members[%d] has no name." % index)
        if name in names:
            raise MySQLReplicationError("members lists %s twice; every member needs its own name." % name)
        names.append(name)
        for error in (host_error(member.get("host"), "members[%d].host" % index),
                      port_error(member.get("port"), "members[%d].port" % index)):
            if error:
                raise MySQLReplicationError(error)
    listed = ", ".join(names)
    for option in ("primary", "target"):
        value = params.get(option)
        if value is not None and value not in names:
            raise MySQLReplicationError("%s=%s is not a member; the members are: %s." % (option, value, listed))
    if not params.get("primary"):
        raise MySQLReplicationError("primary is required: the member currently recorded as primary (one of: %s)."
                                    % listed)
    action = params["action"]
    if action == "switchover" and not params.get("target"):
        raise MySQLReplicationError("target is required for action=switchover: the member to promote (one of: %s)."
                                    % listed)
    if action == "switchover" and params.get("force"):
        raise MySQLReplicationError("force applies to action=failover only: a switchover refuses instead of "
                                    "risking acknowledged writes.")
    if action == "failover" and params.get("target") == params["primary"]:
        raise MySQLReplicationError("target=%s is the recorded primary; a failover promotes another member. Leave "
                                    "target unset to choose the most advanced replica." % params["target"])
    if action == "failover" and len(members) < 2:
        raise MySQLReplicationError("action=failover needs at least one member besides the primary %s."
                                    % params["primary"])
    for option, minimum in (("timeout", 1), ("connect_timeout", 1), ("max_lag", 0)):
        if params.get(option) is not None and params[option] < minimum:
            raise MySQLReplicationError("%s must be at least %d, got %s." % (option, minimum, params[option]))
    error = user_error(params.get("login_user"), "login_user")
    if error:
        raise MySQLReplicationError(error)


# --- GTIDs per flavor ---------------------------------------------------------------------------------

def _text(value):
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    return ("" if value is None else str(value)).replace("\n", "")


def position_of(member):
    """MariaDB @@gtid_binlog_pos, MySQL @@gtid_executed."""
    return _text(member.session.value(member.flavor.statement("gtid_position")))


def missing(flavor_name, have, other):
    """What ``have`` holds that ``other`` never had, as text ('' when nothing)."""
    if flavor_name == "mariadb":
        return format_mariadb_gtids(mariadb_missing(have, other))
    return format_mysql_gtid_set(mysql_subtract(have, other))


def received_and_applied(flavor_name, server, status):
    """Everything a replica has, applied or only in its relay log: the measure of "most advanced"."""
    received = status["retrieved_gtid_set"] if status else ""
    if flavor_name == "mariadb":
        # gtid_binlog_state: per (domain, server) with log_slave_updates; the positions add the last GTID
        # per domain applied (gtid_slave_pos) and received (Gtid_IO_Pos).
        return mariadb_state(server["gtid_binlog_state"], server["gtid_slave_pos"], _text(received))
    return mysql_union(server["gtid_executed"], _text(received))


def size(flavor_name, state):
    return mariadb_transactions(state) if flavor_name == "mariadb" else mysql_transactions(state)


def choose_most_advanced(flavor_name, candidates, target=None, force=False):
    """The replica to promote among ``candidates`` ([(name, state)] in member order).

    The most advanced one holds every GTID any other candidate holds; equal ones: the first listed.
    Returns (name, warnings); raises MySQLReplicationError to refuse (a target that lacks GTIDs
    another replica has, or diverged replicas), unless ``force``."""
    states = dict(candidates)
    lacks = {name: {other: missing(flavor_name, states[other], state) for other, unused in candidates
                    if other != name} for name, state in candidates}
    complete = [name for name, unused in candidates if not any(lacks[name].values())]

    def what_lacks(name):
        return "; ".join("%s has %s" % (other, gtids) for other, gtids in lacks[name].items() if gtids)

    if target is not None:
        if target in complete:
            return target, []
        if force:
            return target, ["force: promoting %s although it lacks GTIDs other replicas have (%s); those "
                            "transactions are lost unless applied on %s by hand." % (target, what_lacks(target), target)]
        better = ", ".join(complete) or "none of them alone"
        raise MySQLReplicationError(
            "target=%s is not the most advanced reachable replica: %s, which %s lacks. Promoting it would lose "
            "them. Leave target unset (the most advanced is %s), or set force=true to promote %s anyway."
            % (target, what_lacks(target), target, better, target))
    if complete:
        return complete[0], []
    detail = " / ".join("%s lacks: %s" % (name, what_lacks(name)) for name, unused in candidates)
    if not force:
        raise MySQLReplicationError(
            "The reachable replicas have diverged, no one holds every transaction the others have (%s). Decide "
            "which history to keep, then run again with target=<that member> and force=true; the other members "
            "will be refused by mysql_replication until re-seeded (their data is kept)." % detail)
    chosen = max(candidates, key=lambda item: (size(flavor_name, item[1]),
                                               -[n for n, unused in candidates].index(item[0])))[0]
    return chosen, ["force: the replicas have diverged (%s); promoted %s, which holds the most transactions."
                    % (detail, chosen)]


# --- statements on one member -------------------------------------------------------------------------

def _is_client(row):
    return (_text(row.get("user")) not in SYSTEM_USERS and _text(row.get("command")) not in SYSTEM_COMMANDS)


def make_read_only(member, actions, clock=time.monotonic, sleep=time.sleep):
    """read_only ON (MySQL: super_read_only ON), then end every other client connection and give the
    killed ones a moment to roll back."""
    session, flavor = member.session, member.flavor
    for statement in flavor.statement("read_only_on"):
        session.write(statement)
    actions.append("set %s read-only (%s)" % (member.name, "; ".join(flavor.statement("read_only_on"))))
    killed = []
    for row in session.rows(PROCESSLIST):
        if not _is_client(row):
            continue
        try:
            session.write(Statement(KILL, (int(row["id"]),)))
        except MySQLReplicationError as exc:
            if exc.details.get("error_code") == ER_NO_SUCH_THREAD:  # it ended by itself meanwhile
                continue
            raise
        killed.append(int(row["id"]))
    if killed:
        actions.append("ended %d client connection(s) on %s (ids %s): read_only does not stop accounts with SUPER "
                       "or READ ONLY ADMIN, and their unacknowledged transactions roll back"
                       % (len(killed), member.name, ", ".join(str(i) for i in killed)))
    if killed and not session.check_mode:
        deadline = RetryPolicy(KILL_SETTLE_SECONDS, clock=clock, sleep=sleep)
        while any(int(row["id"]) in killed for row in session.rows(PROCESSLIST)) and not deadline.expired():
            sleep(POLL)
    return killed


def make_writable(member, actions, why):
    for statement in member.flavor.statement("read_only_off"):
        member.session.write(statement)
    actions.append("made %s writable again (read_only OFF): %s" % (member.name, why))


def promote(member, actions):
    """STOP REPLICA, RESET REPLICA ALL, read_only OFF. Returns the stage reached for the caller's undo."""
    session, flavor = member.session, member.flavor
    session.write(flavor.statement("stop_replica"))
    session.write(flavor.statement("reset_replica"))
    for statement in flavor.statement("read_only_off"):
        session.write(statement)
    actions.append("promoted %s: stopped replication, removed its replication configuration (%s), read_only OFF"
                   % (member.name, flavor.statement("reset_replica")))


def _on(value):
    return _text(value).upper() in ("1", "ON", "YES")


def semi_sync_known(member, variables=True):
    """From the variables (replica side: enabled?) or the status (source side: on now?); None if unreadable."""
    try:
        rows = member.session.rows(SEMI_SYNC_VARIABLES if variables else SEMI_SYNC_STATUS)
    except MySQLReplicationError:
        return None
    values = {_text(row.get("Variable_name")).lower(): row.get("Value") for row in rows}
    if variables:
        names = ("rpl_semi_sync_slave_enabled", "rpl_semi_sync_replica_enabled")
    else:
        names = ("rpl_semi_sync_master_status", "rpl_semi_sync_source_status")
    return any(_on(values.get(name)) for name in names)


# --- the two actions ----------------------------------------------------------------------------------

def _open(member, open_session, required, why=""):
    try:
        member.session = open_session(member)
        member.flavor = detect(member.session)
    except MySQLReplicationError as exc:
        member.error = exc.msg
        if member.session is not None:
            member.session.close()
            member.session = None
        if required:
            raise MySQLReplicationError("Cannot use %s at %s%s: %s" % (member.name, member.address, why, exc.msg),
                                        member=member.name)
    return member.session is not None


def _same_flavor(members):
    names = {(m.flavor.name) for m in members}
    if len(names) > 1:
        raise MySQLReplicationError("The members are not all the same flavor (%s): GTID replication between "
                                    "MariaDB and MySQL is not supported."
                                    % ", ".join("%s is %s" % (m.name, m.flavor.name) for m in members))


def _status_text(status):
    text = "IO thread: %s, SQL thread: %s" % (status["io_running"], status["sql_running"])
    if status["last_io_errno"]:
        text += ", last IO error %d: %s" % (status["last_io_errno"], status["last_io_error"])
    if status["last_sql_errno"]:
        text += ", last SQL error %d: %s" % (status["last_sql_errno"], status["last_sql_error"])
    return text


def check_switchover(old, new, max_lag):
    """Refuse a target that cannot take over without losing writes, before anything is written."""
    status = new.status
    repair = ("Repair it first (mysql_replication role=replica with source_host set to %s's stable name starts "
              "stopped threads and waits until caught up), then run the switchover again." % old.name)
    if status is None or not status["source_host"]:
        raise MySQLReplicationError(
            "target %s does not replicate from anything: only a replica of the primary %s can take over without "
            "losing writes. %s" % (new.name, old.name, repair), member=new.name)
    source_id = status.get("source_server_id")
    if source_id not in (None, "", 0, "0") and int(source_id) != old.server["server_id"]:
        raise MySQLReplicationError(
            "target %s replicates from %s:%s (server_id %s), not from the primary %s (server_id %d). Point it at %s "
            "(mysql_replication role=replica) and run again." % (new.name, status["source_host"], status["source_port"],
                                                                 source_id, old.name, old.server["server_id"], old.name),
            member=new.name)
    if status["io_running"] != RUNNING or status["sql_running"] != RUNNING:
        raise MySQLReplicationError("target %s is not replicating (%s). %s" % (new.name, _status_text(status), repair),
                                    member=new.name, replica_status=status)
    lag = status["seconds_behind_source"]
    if lag is None or lag > max_lag:
        raise MySQLReplicationError(
            "target %s lags %s seconds behind the primary %s (max_lag=%d): the old primary would stay read-only "
            "until it caught up. Wait until it caught up (or raise max_lag) and run again."
            % (new.name, "an unknown number of" if lag is None else lag, old.name, max_lag), member=new.name)
    errant = missing(new.flavor.name, _history(new), _history(old))
    if errant:
        raise MySQLReplicationError(
            "target %s has transactions the primary %s never had (errant GTIDs: %s); promoting it would make the "
            "other members diverge. Apply those transactions on %s or re-seed %s (after keeping a backup of it), "
            "then run again. Nothing was changed." % (new.name, old.name, errant, old.name, new.name),
            member=new.name, errant_gtids=errant)
    problems = source_problems(new.flavor, new.server)
    if problems:
        raise MySQLReplicationError("target %s cannot be a primary: %s." % (new.name, "; ".join(problems)),
                                    member=new.name)


def _history(member):
    """What a server wrote or applied: MariaDB binlog state, MySQL gtid_executed."""
    if member.flavor.name == "mariadb":
        return mariadb_state(member.server["gtid_binlog_state"], member.server["gtid_executed"])
    return member.server["gtid_executed"]


def _diff(before_primary, after_primary, read_only_before, read_only_after):
    return {"before": {"primary": before_primary, "read_only": read_only_before},
            "after": {"primary": after_primary, "read_only": read_only_after}}


def switchover(members, params, open_session, clock=time.monotonic, sleep=time.sleep):
    old, new = members[params["primary"]], members[params["target"]]
    _open(old, open_session, True, " (the primary)")
    if new is not old:
        _open(new, open_session, True, " (the target)")
    for member in {id(old): old, id(new): new}.values():
        member.server = read_server(member.session, member.flavor)
        member.status = read_replica_status(member.session, member.flavor)
    if new is old:
        return _already_primary(new)
    _same_flavor([old, new])
    if old.status and old.status["source_host"] and RUNNING in (old.status["io_running"], old.status["sql_running"]):
        raise MySQLReplicationError(
            "The recorded primary %s itself replicates from %s:%s (%s): it is not a primary; correct the recorded "
            "primary first." % (old.name, old.status["source_host"], old.status["source_port"], _status_text(old.status)))
    check_switchover(old, new, params["max_lag"])

    check_mode = old.session.check_mode
    actions = []
    started = clock()
    make_read_only(old, actions, clock, sleep)
    position = position_of(old)
    if not check_mode:
        try:
            try:
                unused, reached = wait_caught_up_for(new, position, params["timeout"], clock, sleep)
            except MySQLReplicationError as exc:
                raise MySQLReplicationError("target %s could not apply the primary's position %s: %s"
                                            % (new.name, position, exc.msg), **exc.details)
            if not reached:
                raise MySQLReplicationError(
                    "target %s did not apply the primary's position %s within timeout=%ss. Raise timeout, or wait until "
                    "it lags less and run again." % (new.name, position, params["timeout"]), member=new.name)
            moved = position_of(old)
            slipped = missing(old.flavor.name, moved, position)
            if slipped:
                raise MySQLReplicationError(
                    "the primary %s wrote after it was made read-only (GTIDs %s, position %s -> %s): an account with "
                    "SUPER or READ ONLY ADMIN kept writing. Stop that writer and run again."
                    % (old.name, slipped, position, moved), member=old.name, gtids=slipped)
        except MySQLReplicationError as exc:
            _undo(old, actions, exc)
            raise
    try:
        promote(new, actions)
    except MySQLReplicationError as exc:
        _undo_promotion(old, new, actions, exc)
        raise
    finished = clock()
    adopt = old.flavor.statement("adopt_own_position")
    if adopt:
        old.session.write(adopt)
        actions.append("set gtid_slave_pos of %s to its binlog position %s, so it replicates from %s after its own "
                       "writes (still read-only)" % (old.name, position, new.name))
    new_position = position if check_mode else position_of(new)
    warnings = []
    late = "" if check_mode else missing(old.flavor.name, position_of(old), position)
    if late:
        # Between the last check and the promotion a privileged account wrote again: not on the new primary.
        warnings.append("%s wrote %s after the handover (a SUPER / READ ONLY ADMIN account): those transactions are "
                        "not on %s. mysql_replication will refuse to repoint %s until they are applied on %s; its data "
                        "is kept." % (old.name, late, new.name, old.name, new.name))
    return {
        "changed": True,
        "action": "switchover",
        "previous_primary": old.name,
        "primary": new.name,
        "flavor": new.flavor.name,
        "gtid_position": position,
        "new_primary_gtid_position": new_position,
        "write_unavailable_seconds": None if check_mode else round(finished - started, 3),
        "actions": actions,
        "warnings": warnings,
        "diff": _diff(old.name, new.name, {old.name: old.server["read_only"], new.name: new.server["read_only"]},
                      {old.name: True, new.name: False}),
    }


def wait_caught_up_for(member, position, timeout, clock, sleep):
    """replica.wait_caught_up: both threads running and ``position`` applied; (status, reached)."""
    return wait_caught_up(member.session, member.flavor, position, timeout, clock, sleep, fail_on_timeout=False)


def _undo(old, actions, exc):
    """A refused switchover: the old primary takes writes again; the refusal says so."""
    try:
        make_writable(old, actions, "the switchover was refused")
    except MySQLReplicationError as undo_error:
        exc.msg = ("Switchover refused: %s. Making %s writable again FAILED too (%s): run SET GLOBAL read_only=OFF on "
                   "%s now; it is still the primary." % (exc.msg, old.name, undo_error.msg, old.name))
    else:
        exc.msg = ("Switchover refused: %s. %s is writable again and still the primary; nothing else was changed."
                   % (exc.msg, old.name))
    exc.args = (exc.msg,)
    exc.details.update(changed=True, actions=actions)


def _undo_promotion(old, new, actions, exc):
    """The target failed half-way through its promotion: when it still has its replication configuration,
    start it again and give the writes back to the old primary; after RESET it is no longer a replica, so
    the old primary must stay read-only (two writers would diverge) and the message says what to do."""
    status = None
    try:
        status = read_replica_status(new.session, new.flavor)
    except MySQLReplicationError:
        pass
    if status and status["source_host"]:
        try:
            new.session.write(new.flavor.statement("start_replica"))
            make_writable(old, actions, "the promotion of %s failed" % new.name)
            exc.msg = ("Switchover refused: promoting %s failed (%s). %s replicates again and %s is writable again "
                       "and still the primary." % (new.name, exc.msg, new.name, old.name))
        except MySQLReplicationError as undo_error:
            exc.msg = ("Switchover failed while promoting %s (%s) and undoing it failed too (%s): %s is read-only. "
                       "Check both servers before taking writes again." % (new.name, exc.msg, undo_error.msg, old.name))
    else:
        exc.msg = ("Switchover failed after %s lost its replication configuration (%s): %s stays read-only so that "
                   "two writers never diverge. Finish by hand: SET GLOBAL read_only=OFF on %s, then record %s as the "
                   "primary." % (new.name, exc.msg, old.name, new.name, new.name))
    exc.args = (exc.msg,)
    exc.details.update(changed=True, actions=actions)


def _already_primary(member):
    """target == primary: a no-op when it is a working primary (re-runs are idempotent), else a refusal."""
    status = member.status
    replicating = bool(status and status["source_host"])
    if member.server["read_only"] or replicating:
        why = []
        if member.server["read_only"]:
            why.append("it is read-only")
        if replicating:
            why.append("it has replication configured from %s:%s (%s)"
                       % (status["source_host"], status["source_port"], _status_text(status)))
        raise MySQLReplicationError(
            "target=%s is already the recorded primary, but %s: it is not a working primary. Record the member that "
            "is the primary, or use action=failover." % (member.name, " and ".join(why)), member=member.name)
    position = position_of(member)
    return {
        "changed": False,
        "action": "switchover",
        "previous_primary": member.name,
        "primary": member.name,
        "flavor": member.flavor.name,
        "gtid_position": position,
        "new_primary_gtid_position": position,
        "write_unavailable_seconds": 0,
        "actions": [],
        "warnings": [],
        "diff": _diff(member.name, member.name, {member.name: False}, {member.name: False}),
    }


def failover(members, params, open_session, clock=time.monotonic, sleep=time.sleep):
    force = params.get("force")
    old = members[params["primary"]]
    others = [m for m in members.values() if m is not old]
    actions, warnings = [], []
    old_answers = _open(old, open_session, False)
    if old_answers:
        old.server = read_server(old.session, old.flavor)
        if not old.server["read_only"]:
            if not force:
                raise MySQLReplicationError(
                    "the primary %s is healthy (it answers at %s and is writable): use action=switchover, or "
                    "force=true to fail over anyway (it is then made read-only first)." % (old.name, old.address),
                    member=old.name)
            make_read_only(old, actions, clock, sleep)
            warnings.append("force: the primary %s was answering and writable; it was made read-only and its client "
                            "connections were ended before the failover." % old.name)
    for member in others:
        _open(member, open_session, False)
    unreachable = [m for m in others if m.session is None]
    if unreachable and not force:
        raise MySQLReplicationError(
            "Cannot fail over while %s does not answer: it might hold transactions the reachable replicas lack, and "
            "promoting another member would lose them (%s). Bring it back, or set force=true to choose among the "
            "members that answer." % (", ".join(m.name for m in unreachable),
                                      "; ".join("%s: %s" % (m.name, m.error) for m in unreachable)),
            unreachable=[m.name for m in unreachable])
    reachable = [m for m in others if m.session is not None]
    if not reachable:
        raise MySQLReplicationError("No member besides the primary %s answers; there is nothing to fail over to."
                                    % old.name, unreachable=[m.name for m in unreachable])
    target = members.get(params.get("target")) if params.get("target") else None
    if target is not None and target.session is None:
        raise MySQLReplicationError("target %s does not answer (%s); it cannot be promoted." % (target.name, target.error))
    _same_flavor(reachable)
    flavor_name = reachable[0].flavor.name
    for member in reachable:
        member.server = read_server(member.session, member.flavor)
        member.status = read_replica_status(member.session, member.flavor)
        member.state = received_and_applied(flavor_name, member.server, member.status)
    candidates = [m for m in reachable if not source_problems(m.flavor, m.server)]
    for member in reachable:
        if member not in candidates:
            warnings.append("%s cannot be a primary (%s); not considered." % (
                member.name, "; ".join(source_problems(member.flavor, member.server))))
    if target is not None and target not in candidates:
        raise MySQLReplicationError("target %s cannot be a primary: %s." % (
            target.name, "; ".join(source_problems(target.flavor, target.server))))
    if not candidates:
        raise MySQLReplicationError("No reachable replica can be a primary: %s" % " ".join(warnings))
    chosen_name, notes = choose_most_advanced(flavor_name, [(m.name, m.state) for m in candidates],
                                              target.name if target else None, force)
    # A replica that cannot be a primary (no binary log) still counts: it must not hold more than the chosen one.
    others_lacking = [m for m in reachable if m not in candidates
                      and missing(flavor_name, m.state, members[chosen_name].state)]
    if others_lacking and not force:
        extra = missing(flavor_name, others_lacking[0].state, members[chosen_name].state)
        raise MySQLReplicationError(
            "%s holds transactions %s lacks (%s) but cannot be a primary itself; force=true promotes %s without them."
            % (others_lacking[0].name, chosen_name, extra, chosen_name))
    warnings.extend(notes)
    chosen = members[chosen_name]
    if old.server is not None:
        extra = missing(flavor_name, _history(old), chosen.state)
        if extra and not force:
            raise MySQLReplicationError(
                "the old primary %s answers (read-only) and has transactions %s lacks (%s): promoting %s would lose "
                "them. Make %s writable and use action=switchover, or set force=true to promote %s without them."
                % (old.name, chosen.name, extra, chosen.name, old.name, chosen.name), member=old.name)
    read_only_before = {m.name: m.server["read_only"] for m in [old] + reachable if m.server}

    unapplied = apply_relay_log(chosen, params["timeout"], force, actions, warnings, clock, sleep)
    promote(chosen, actions)
    position = position_of(chosen)
    behind = {}
    for member in [old] + others:
        if member is chosen:
            continue
        if member.session is None or (member is old and member.server is None):
            behind[member.name] = "unreachable"
        else:
            have = member.state if member.state is not None else _history(member)
            behind[member.name] = missing(flavor_name, _history_after(chosen, position), have)
    may_have_lost = lost_report(old, reachable, chosen, position, unapplied, unreachable, flavor_name)
    warnings.append(may_have_lost["warning"])
    read_only_after = dict(read_only_before, **{chosen.name: False})
    if old.server:
        read_only_after[old.name] = True
    return {
        "changed": True,
        "action": "failover",
        "previous_primary": old.name,
        "primary": chosen.name,
        "flavor": flavor_name,
        "gtid_position": position,
        "new_primary_gtid_position": position,
        "write_unavailable_seconds": None,
        "may_have_lost": may_have_lost,
        "behind": behind,
        "unreachable": [m.name for m in unreachable] + ([] if old_answers else [old.name]),
        "actions": actions,
        "warnings": warnings,
        "diff": _diff(old.name, chosen.name, read_only_before, read_only_after),
    }


def _history_after(member, position):
    if member.flavor.name == "mariadb":
        return mariadb_state(member.state, position)
    return mysql_union(member.state, position)


def apply_relay_log(member, timeout, force, actions, warnings, clock, sleep):
    """Stop fetching (the old primary may come back), then let the SQL thread apply everything received.

    Returns the GTIDs received but not applied ('' when all were applied)."""
    session, flavor = member.session, member.flavor
    if member.status is None:
        return ""
    session.write(flavor.statement("stop_io_thread"))
    status = read_replica_status(session, flavor) or member.status
    received = _text(status["retrieved_gtid_set"])
    if session.check_mode or not received:
        return ""
    if status["sql_running"] != RUNNING:
        if status["last_sql_errno"] and not force:
            raise MySQLReplicationError(
                "%s cannot apply what it received (SQL thread stopped with error %d: %s). Repair it, choose another "
                "target, or set force=true to promote it without the transactions in its relay log (%s)."
                % (member.name, status["last_sql_errno"], status["last_sql_error"], received), member=member.name)
        if not status["last_sql_errno"]:
            session.write(flavor.statement("start_sql_thread"))
            actions.append("started the SQL thread of %s to apply its relay log" % member.name)
    applied = False
    if status["sql_running"] == RUNNING or not status["last_sql_errno"]:
        try:
            # No IO thread needed: it was just stopped, and the source is gone.
            unused, applied = wait_caught_up(session, flavor, received, timeout, clock, sleep, fail_on_timeout=False,
                                             require_receiver=False)
        except MySQLReplicationError as exc:
            if not force:
                raise MySQLReplicationError("%s: %s Repair it, choose another target, or set force=true to promote it "
                                            "without the rest of its relay log." % (member.name, exc.msg),
                                            member=member.name)
    after = read_server(session, flavor)
    have = (mariadb_state(after["gtid_binlog_state"], after["gtid_slave_pos"]) if flavor.name == "mariadb"
            else after["gtid_executed"])
    unapplied = "" if applied else missing(flavor.name, received, have)
    if applied:
        actions.append("%s applied everything it had received (%s)" % (member.name, received))
    elif unapplied and not force:
        raise MySQLReplicationError("%s did not apply its relay log within timeout=%ss (still to apply: %s). Raise "
                                    "timeout, or set force=true to promote it without them."
                                    % (member.name, timeout, unapplied), member=member.name)
    elif unapplied:
        warnings.append("force: %s is promoted without the transactions it received but did not apply (%s)."
                        % (member.name, unapplied))
    return unapplied


def lost_report(old, reachable, chosen, position, unapplied, unreachable, flavor_name):
    """What is known about transactions the old primary acknowledged that no longer exist."""
    if old.session is not None:
        on = semi_sync_known(old, variables=False)
        semi_sync = "unknown" if on is None else ("on" if on else "off")
        source = "the old primary's own status"
    else:
        enabled = [semi_sync_known(m) for m in reachable]
        if any(value is None for value in enabled) or any(enabled):
            # The primary falls back to asynchronous after rpl_semi_sync_master_timeout; replicas cannot tell.
            semi_sync = "unknown"
        else:
            semi_sync = "off"
        source = "the replicas' settings"
    old_extra = None
    if old.session is not None and old.server is not None:
        old_extra = missing(flavor_name, _history(old), _history_after(chosen, position))
    if old_extra:
        warning = ("The old primary %s has transactions the new primary %s lacks (%s): they are lost unless applied "
                   "on %s by hand; mysql_replication keeps %s out of replication until then."
                   % (old.name, chosen.name, old_extra, chosen.name, old.name))
    elif semi_sync == "on":
        warning = ("The old primary %s was semi-synchronous (%s): every commit it acknowledged reached a replica, and %s "
                   "holds everything the reachable replicas received." % (old.name, source, chosen.name))
    elif semi_sync == "off":
        warning = ("Semi-synchronous replication was off (%s): the old primary %s acknowledged commits without waiting "
                   "for a replica, so transactions it acknowledged after %s may be lost." % (source, old.name, position))
    else:
        warning = ("Whether the old primary %s was still semi-synchronous when it failed is unknown (%s; a primary falls "
                   "back to asynchronous after its semi-sync timeout): transactions it acknowledged after %s may be lost."
                   % (old.name, source, position))
    if unreachable:
        warning += " Not compared: %s did not answer." % ", ".join(m.name for m in unreachable)
    return {"position": position, "semi_sync": semi_sync, "unapplied": unapplied, "old_primary_extra": old_extra,
            "unreachable": [m.name for m in unreachable], "warning": warning}


# --- the task ------------------------------------------------------------------------------------------

def base_settings(params):
    """One settings object for every member; its TLS files are checked before any connection."""
    base = ConnectionSettings(None, 3306, params.get("login_user") or "root", params.get("login_password"),
                              connect_timeout=params.get("connect_timeout") or 5,
                              read_timeout=MAX_WAIT_CHUNK + 30,
                              ca_cert=params.get("ca_cert"), client_cert=params.get("client_cert"),
                              client_key=params.get("client_key"), check_hostname=params.get("check_hostname"))
    base.tls_context()
    return base


def run(params, check_mode, queries, connect_member=None, clock=time.monotonic, sleep=time.sleep):
    """Do what ``params`` ask; returns the result dict. ``queries`` is filled as SQL runs.

    ``connect_member(member)`` returns a PyMySQL-like connection (tests pass fakes)."""
    validate(params)
    if connect_member is None:
        base = base_settings(params)

        def connect_member(member):
            return connect(settings_for(base, member.host, member.port, base.user, base.password),
                           purpose="member %s" % member.name)

    def open_session(member):
        return SqlSession(connect_member(member), queries, check_mode=check_mode, label=member.name,
                          address=member.address)

    members = {}
    for item in params["members"]:
        members[item["name"]] = Member(item["name"], item["host"], item.get("port") or 3306)
    try:
        if params["action"] == "switchover":
            result = switchover(members, params, open_session, clock, sleep)
        else:
            result = failover(members, params, open_session, clock, sleep)
    finally:
        for member in members.values():
            if member.session is not None:
                member.session.close()
    return result
