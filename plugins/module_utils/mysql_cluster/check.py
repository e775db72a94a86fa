# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster-level SQL checks of the mysql_cluster role: members answer, replication carries a marker.

Every member answers SQL; a marker row written on the primary reaches every replica.

Pure logic over DB-API connections: ``connect(member)`` is passed in, so unit tests use fakes.
"""
from __future__ import annotations

import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import RetryPolicy, call_with_retry

MARKER_TABLE = "marker"
ER_ACCESS_DENIED = 1045


class CheckError(Exception):
    """A check failed; the message names the member and what to look at."""

    def __init__(self, msg, members=None, changed=False, queries=None, gtid_position=None):
        super(CheckError, self).__init__(msg)
        self.members = members or []
        self.changed = changed
        self.queries = queries or []
        self.gtid_position = gtid_position


def _one(cur, sql, args=None):
    cur.execute(sql, args)
    return cur.fetchone()


def server_facts(conn, replication=False):
    """Identity and GTID position; with ``replication``, also whether both replication threads run."""
    cur = conn.cursor()
    try:
        server_id, version, read_only = _one(cur, "SELECT @@server_id, @@version, @@read_only")
        flavor = "mariadb" if "mariadb" in version.lower() else "mysql"
        position = _one(cur, gtid_sql(flavor)[0])[0] or ""
        # An empty position: the server never wrote or applied a transaction (it holds no data).
        facts = {"server_id": int(server_id), "version": version, "read_only": bool(int(read_only)),
                 "flavor": flavor, "gtid_position": position.replace("\n", "")}
        if replication:
            facts["replicating"] = _replicating(cur, flavor)
    finally:
        cur.close()
    return facts


# Both replication threads running: the member streams from its source's binary logs, so the role has
# nothing to decide about seeding it (and a no-op run asks nothing more).
_THREADS = {"mariadb": ("SHOW SLAVE STATUS", "Slave_IO_Running", "Slave_SQL_Running"),
            "mysql": ("SHOW REPLICA STATUS", "Replica_IO_Running", "Replica_SQL_Running")}


def _replicating(cur, flavor):
    statement, io_column, sql_column = _THREADS[flavor]
    row = _one(cur, statement)
    if not row:
        return False
    status = dict(zip((column[0] for column in cur.description), row))
    return status.get(io_column) == "Yes" and status.get(sql_column) == "Yes"


def _error_code(exc):
    """The server's error number: from mysql/connection.py's error details, else PyMySQL's args."""
    code = (getattr(exc, "details", None) or {}).get("error_code")
    if isinstance(code, int):
        return code
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _not_access_denied(exc):
    return _error_code(exc) != ER_ACCESS_DENIED


def wait_all(members, connect, timeout, errors=(Exception,), is_transient=_not_access_denied,
             clock=time.monotonic, sleep=time.sleep):
    """Connect to each member until it answers; return their facts or raise CheckError.

    ``is_transient(exc)`` says which of ``errors`` may pass by waiting (the connection code's
    classifier); anything else fails at once."""
    # One deadline for all members, about a second between attempts.
    policy = RetryPolicy(timeout, base=2.0, cap=2.0, clock=clock, sleep=sleep, rand=lambda: 0.0)
    results = []

    def transient(exc):
        return isinstance(exc, errors) and is_transient(exc)

    for member in members:
        def answer(member=member):
            conn = connect(member)
            try:
                return server_facts(conn, replication=True)
            finally:
                conn.close()
        where = "%s (%s:%s)" % (member["name"], member["host"], member["port"])
        try:
            facts = call_with_retry(answer, policy, transient, until_deadline=True)
        except errors as exc:
            if _error_code(exc) == ER_ACCESS_DENIED:
                raise CheckError("%s: access denied: %s. Check the credentials Secret." % (where, exc), results)
            if not is_transient(exc):  # waiting would not help: say so now
                raise CheckError("%s: %s" % (where, exc), results)
            raise CheckError("%s did not answer SQL within %d s (last error: %s)" % (where, timeout, exc), results)
        results.append(dict(name=member["name"], host=member["host"], port=member["port"], **facts))
    return results


def gtid_sql(flavor):
    """(statement reading the primary's position, statement waiting for it on a replica)."""
    if flavor == "mariadb":
        return "SELECT @@GLOBAL.gtid_binlog_pos", "SELECT MASTER_GTID_WAIT(%s, %s)"
    return "SELECT @@GLOBAL.gtid_executed", "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s)"


def marker_statements(database):
    table = "`%s`.`%s`" % (database.replace("`", "``"), MARKER_TABLE)
    return [
        "CREATE DATABASE IF NOT EXISTS `%s`" % database.replace("`", "``"),
        "CREATE TABLE IF NOT EXISTS %s (id INT PRIMARY KEY, value VARCHAR(512) NOT NULL)" % table,
        "INSERT INTO %s (id, value) VALUES (1, %%s) ON DUPLICATE KEY UPDATE value = VALUES(value)" % table,
    ]


def read_marker(cur, database):
    exists = _one(cur, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s"
                       " AND table_name = %s", (database, MARKER_TABLE))[0]
    if not exists:
        return None
    row = _one(cur, "SELECT value FROM `%s`.`%s` WHERE id = 1" % (database.replace("`", "``"), MARKER_TABLE))
    return row[0] if row else None


def verify(members, connect, database, marker, timeout, check_mode=False, clock=time.monotonic):
    """Upsert the marker on the primary (changed only if it differs); prove each replica shows it.

    Returns (changed, queries, per-replica results, the primary's GTID position).
    """
    primaries = [m for m in members if m.get("primary")]
    if len(primaries) != 1:
        raise CheckError("members: exactly one member must have primary=true, got %d" % len(primaries))
    primary = primaries[0]
    queries = []
    conn = connect(primary)
    try:
        facts = server_facts(conn)
        position_sql, wait_sql = gtid_sql(facts["flavor"])
        cur = conn.cursor()
        current = read_marker(cur, database)
        changed = current != marker
        if changed:
            queries = marker_statements(database)
            if not check_mode:
                cur.execute(queries[0])
                cur.execute(queries[1])
                cur.execute(queries[2], (marker,))
                if hasattr(conn, "commit"):
                    conn.commit()
        position = _one(cur, position_sql)[0] or ""
        cur.close()
    finally:
        conn.close()
    if check_mode and changed:
        return changed, queries, [], position  # nothing written: replicas cannot show it yet
    results, problems = [], []
    deadline = clock() + timeout
    for member in members:
        if member is primary:
            continue
        started = clock()
        conn = connect(member)
        try:
            cur = conn.cursor()
            waited = _one(cur, wait_sql, (position, max(1, int(deadline - clock()))))[0]
            caught_up = waited in (0, None) if facts["flavor"] == "mysql" else waited == 0
            value = read_marker(cur, database) if caught_up else None
            cur.close()
        finally:
            conn.close()
        results.append({"name": member["name"], "host": member["host"], "caught_up": caught_up,
                        "marker_seen": value == marker, "seconds": round(clock() - started, 3)})
        if not caught_up:
            problems.append("%s did not apply the primary's GTID position %s within %d s"
                            % (member["name"], position, timeout))
        elif value != marker:
            problems.append("%s is caught up but shows marker %r instead of %r" % (member["name"], value, marker))
    if problems:
        raise CheckError("; ".join(problems), results, changed, queries, position)
    return changed, queries, results, position
