# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role=primary: make a server a replication source and report its GTID position.

Checks the server can be a source, ensures the replication account."""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.grants import ensure_replication_user
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.server import (
    binlog_status,
    read_replica_status,
    read_server,
    semi_sync_source,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import Statement

ER_SPECIFIC_ACCESS_DENIED = 1227


def source_problems(flavor, server):
    """Why this server cannot be a GTID replication source (empty list when it can)."""
    problems = []
    if not server["log_bin"]:
        problems.append("binary logging is off (start the server with log_bin / log-bin=<name>)")
    if flavor.name == "mysql":
        if server["gtid_mode"] != "ON":
            problems.append("gtid_mode is %s, it must be ON" % (server["gtid_mode"] or "unset"))
        if server["enforce_gtid_consistency"] != "ON":
            problems.append("enforce_gtid_consistency is %s, it must be ON"
                            % (server["enforce_gtid_consistency"] or "unset"))
        if server["server_id"] == 0:
            problems.append("server_id is 0, replicas refuse to connect to it (set server-id)")
    return problems


def ensure_read_only(session, current, wanted, actions):
    """SET GLOBAL read_only when asked and different (not persisted across restarts)."""
    if wanted is None or bool(wanted) == bool(current):
        return
    session.write(Statement("SET GLOBAL read_only = %s", ("ON" if wanted else "OFF",)))
    actions.append("set read_only to %s" % ("ON" if wanted else "OFF"))


def ensure_primary(session, flavor, spec, try_login, address):
    """Returns the module result (without queries); raises MySQLReplicationError to refuse."""
    server = read_server(session, flavor)
    problems = source_problems(flavor, server)
    if problems:
        raise MySQLReplicationError(
            "%s at %s cannot be a replication source: %s." % (flavor.name, address, "; ".join(problems)),
            server_id=server["server_id"], flavor=flavor.name)

    actions = []
    warnings = []
    try:
        replicating = read_replica_status(session, flavor)
    except MySQLReplicationError as exc:
        # Only needed for a warning; a login without SLAVE MONITOR/REPLICATION CLIENT may skip it.
        if exc.details.get("error_code") != ER_SPECIFIC_ACCESS_DENIED:
            raise
        replicating = None
    if replicating and replicating["source_host"]:
        # Promotion (stopping replication) is a decision this module does not take on its own.
        warnings.append(
            "%s is itself configured as a replica of %s:%s (IO thread %s, SQL thread %s); role=primary "
            "leaves that replication as it is." % (address, replicating["source_host"], replicating["source_port"],
                                                   replicating["io_running"], replicating["sql_running"]))
    before = {"read_only": server["read_only"]}
    after = {"read_only": server["read_only"] if spec.get("read_only") is None else bool(spec["read_only"])}
    password_changed = False
    if spec.get("replication_user"):
        user_actions, user_warnings, user_diff = ensure_replication_user(
            session, flavor, spec["replication_user"], spec["replication_user_host"],
            spec["replication_password"], spec["update_password"], try_login)
        actions.extend(user_actions)
        warnings.extend(user_warnings)
        password_changed = user_diff["after"].pop("password_changed", False)
        before["replication_user"] = user_diff["before"]
        after["replication_user"] = user_diff["after"]
    ensure_read_only(session, server["read_only"], spec.get("read_only"), actions)

    if actions and not session.check_mode:
        # CREATE USER / GRANT are binlogged: report the position after them.
        server = read_server(session, flavor)
    binlog_file, binlog_position = binlog_status(session, flavor)
    semi_sync = semi_sync_source(session)
    if semi_sync and not semi_sync["on"]:
        warnings.append(
            "Semi-synchronous replication on %s is asynchronous now: no replica acknowledged a commit within the "
            "timeout. %d commit(s) since the server started were acknowledged without a replica; a failover before "
            "a replica received them would lose them. Check that the replicas run and reach it."
            % (address, semi_sync["unacknowledged_commits"]))
    result = {
        "changed": bool(actions),
        "actions": actions,
        "warnings": warnings,
        "flavor": flavor.name,
        "server_version": flavor.version_string,
        "server_id": server["server_id"],
        "gtid_executed": server["gtid_executed"],
        "binlog_file": binlog_file,
        "binlog_position": binlog_position,
        # In check mode this is the predicted value.
        "read_only": after["read_only"],
        # Replicas still hold the old password until they are given this one (refresh_password).
        "password_changed": password_changed,
        "semi_sync": semi_sync,
        "diff": {"before": before, "after": after},
    }
    if flavor.name == "mariadb":
        result["gtid_binlog_pos"] = server["gtid_executed"]
        result["gtid_current_pos"] = server["gtid_current_pos"]
    return result
