# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seeding a member: from the source's binary logs when they still hold what it lacks, else from a
physical copy of a healthy member (MySQL: the CLONE plugin, here; MariaDB: mariadb-backup through the
pods, in the mysql_cluster role, because MariaDB has no server-side clone).

``plan`` only reads. ``clone`` replaces the member's data, so it refuses a member that holds a
transaction the donor never had: a copy never deletes the only copy of anything."""
from __future__ import annotations

import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import RetryPolicy, call_with_retry
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import (
    ConnectError,
    connect,
    is_transient,
    login_settings,
    settings_for,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import detect
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.gtid import (
    format_mariadb_gtids,
    format_mysql_gtid_set,
    mariadb_purged_beyond,
    mysql_subtract,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.server import read_server
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import SqlSession, Statement

# MySQL answers CLONE INSTANCE with this when no supervisor restarts it: the server shuts down and the
# container runtime (the pod's restart policy) starts it again on the cloned data.
ER_CLONE_RESTART_FAILED = 3707
# ... or the connection ends under the statement (lost during a query, server gone away).
CLONE_RESTARTS = (ER_CLONE_RESTART_FAILED, 2013, 2006)


def position(server, flavor):
    """Everything a server holds, as text: MariaDB binlog and slave positions merged, MySQL gtid_executed."""
    if flavor.name == "mariadb":
        parts = [p for p in (server["gtid_executed"], server["gtid_slave_pos"]) if p]
        return ",".join(parts)
    return server["gtid_executed"]


def purged_gap(source, flavor, member_position):
    """What a member at ``member_position`` lacks that the source's binary logs no longer hold ('' if nothing)."""
    if flavor.name == "mariadb":
        logs = source.rows(flavor.statement("binary_logs"))
        if not logs:
            return ""
        start = source.value(Statement(flavor.statement("binlog_start"), (logs[0]["Log_name"],)))
        return format_mariadb_gtids(mariadb_purged_beyond(member_position, start or ""))
    purged = read_server(source, flavor)["gtid_purged"] or ""
    return format_mysql_gtid_set(mysql_subtract(purged, member_position))


def plan(member, flavor, source, mode, member_address, source_address):
    """How the member gets the source's history: {'method': 'binlog'|'clone', 'reason', 'gtid_position', 'missing'}.

    auto: a copy exactly when the binary logs do not cover the member; clone: also for a member that holds
    no data; binlog: never a copy, and a member the logs do not cover is refused before anything changes."""
    held = position(read_server(member, flavor), flavor)
    missing = purged_gap(source, flavor, held)
    result = {"gtid_position": held, "missing": missing}
    if missing and mode == "binlog":
        raise MySQLReplicationError(
            "The member at %s lacks GTIDs %s, which the source %s purged from its binary logs, so it cannot "
            "replicate from it (error 1236). Seed it from a copy of a healthy member: mode=auto or mode=clone "
            "(mysql_cluster_seed in the role)." % (member_address, missing, source_address), **result)
    if missing:
        reason = "the source's binary logs no longer hold %s, which this member lacks" % missing
        return dict(result, method="clone", reason=reason)
    if mode == "clone" and not held:
        return dict(result, method="clone", reason="the member holds no data and mode=clone")
    if mode == "binlog":
        return dict(result, method="binlog", reason="mode=binlog")
    return dict(result, method="binlog", reason="the source's binary logs hold everything the member lacks")


def clone(member, flavor, donor, spec, member_address, reconnect, clock=time.monotonic, sleep=time.sleep):
    """MySQL: replace the member's data with the donor's (CLONE INSTANCE) and wait until it is back.

    ``donor`` is a SqlSession on the donor (for its GTIDs); ``reconnect()`` opens a new session on the
    member once it restarted. Returns (changed, gtid_position after)."""
    if flavor.statement("clone_instance") is None:
        raise MySQLReplicationError(
            "%s %s has no CLONE: the member at %s cannot be cloned over SQL. The mysql_cluster role seeds MariaDB "
            "members with mariadb-backup through the pods." % (flavor.name, flavor.version_string, member_address))
    for session, who in ((member, "member at %s" % member_address), (donor, "donor %s" % donor.address)):
        if (session.value(flavor.statement("clone_plugin")) or "") != "ACTIVE":
            raise MySQLReplicationError(
                "The clone plugin is not active on the %s: load it on both servers (plugin_load_add = "
                "mysql_clone.so in the server configuration; the mysql_cluster role does this) and run again."
                % who)
    mine = position(read_server(member, flavor), flavor)
    theirs = position(read_server(donor, flavor), flavor)
    unique = format_mysql_gtid_set(mysql_subtract(mine, theirs))
    if unique:
        raise MySQLReplicationError(
            "The member at %s holds transactions the donor %s never had (%s): a clone would replace them. "
            "Nothing was changed. Keep that member aside for a DBA, or choose a donor that holds them."
            % (member_address, donor.address, unique), errant_gtids=unique)
    member.write(flavor.statement("clone_writable"))
    member.write(Statement(flavor.statement("clone_donor_list"), ("%s:%d" % (spec["donor_host"], spec["donor_port"]),)))
    statement = Statement(flavor.statement("clone_instance"),
                          (spec["clone_user"], spec["donor_host"], spec["donor_port"], spec["clone_password"]),
                          secret=(3,))
    if member.check_mode:
        member.write(statement)
        return True, mine
    try:
        member.write(statement)
    except MySQLReplicationError as exc:  # the server shuts down to restart on the copy
        if exc.details.get("error_code") not in CLONE_RESTARTS:
            raise
    return True, wait_cloned(reconnect, flavor, spec["wait_timeout"], member_address, clock, sleep)


def wait_cloned(reconnect, flavor, timeout, member_address, clock=time.monotonic, sleep=time.sleep):
    """Reconnect until the member runs on the copy (clone_status Completed); its GTID position after."""
    policy = RetryPolicy(timeout, clock=clock, sleep=sleep)

    def completed():
        session = reconnect()
        try:
            status = session.row(flavor.statement("clone_status")) or {}
            state = status.get("state")
            if state == "Failed":
                raise MySQLReplicationError("The clone into the member at %s failed: error %s: %s"
                                            % (member_address, status.get("error_no"), status.get("error_message")))
            if state != "Completed":
                raise _NotYet("clone state %s" % state)
            return position(read_server(session, flavor), flavor)
        finally:
            session.close()

    try:
        return call_with_retry(completed, policy, lambda exc: isinstance(exc, _NotYet) or is_transient(exc),
                               until_deadline=True)
    except MySQLReplicationError as exc:
        if not isinstance(exc, ConnectError):
            raise
        last = exc
    except Exception as exc:  # a link lost while reading, or still not completed at the deadline
        last = exc
    raise MySQLReplicationError("The member at %s did not come back on the cloned data within wait_timeout=%ss "
                                "(last: %s). Look at its pod's log." % (member_address, timeout, last))


class _NotYet(Exception):
    """The member answers but the clone has not finished restarting it."""


def validate(params):
    """Input mistakes, before connecting to anything."""
    if params["action"] == "plan" and not params.get("source_login_host"):
        raise MySQLReplicationError("source_login_host must name the replication source for action=plan.")
    if params["action"] == "clone" and not params.get("donor_host"):
        raise MySQLReplicationError("donor_host must name the member to copy, as the member's server reaches it, "
                                    "for action=clone.")
    if params["wait_timeout"] < 1:
        raise MySQLReplicationError("wait_timeout must be at least 1 second.")


def run(params, check_mode, queries):
    """The mysql_seed task without Ansible; returns the result dict."""
    validate(params)
    login = login_settings(params)

    def open_session(host, port, label, purpose):
        settings = settings_for(login, host, port, login.user, login.password) if host else login
        return SqlSession(connect(settings, purpose), queries, check_mode=check_mode, label=label,
                          address=settings.address)

    member = open_session(None, None, None, "the member to seed")
    try:
        flavor = detect(member)
        if params["action"] == "plan":
            source = open_session(params["source_login_host"], params["source_login_port"],
                                  "source", "the replication source")
            try:
                result = plan(member, flavor, source, params["mode"], login.address, source.address)
            finally:
                source.close()
            return dict(result, changed=False, flavor=flavor.name, diff={"before": {}, "after": {}})
        donor = open_session(params.get("donor_login_host") or params["donor_host"],
                             params.get("donor_login_port") or params["donor_port"], "donor", "the donor")
        try:
            before = position(read_server(member, flavor), flavor)
            spec = dict(params, clone_user=login.user, clone_password=login.password)
            changed, after = clone(member, flavor, donor, spec, login.address,
                                   lambda: open_session(None, None, None, "the member after its restart"))
        finally:
            donor.close()
        return {"changed": changed, "method": "clone", "flavor": flavor.name, "gtid_position": after,
                "diff": {"before": {"gtid_position": before}, "after": {"gtid_position": after}}}
    finally:
        member.close()
