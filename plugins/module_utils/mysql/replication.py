# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mysql_replication task without Ansible: validate, connect, dispatch by role.

Always hands back the queries that ran (masked), also when refusing."""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import (
    can_log_in,
    connect,
    login_settings,
    settings_for,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import detect
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.primary import ensure_primary
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.replica import ensure_replica
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import SqlSession
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.validation import replication_params_error


def validate(params):
    """Input mistakes, reported before connecting to anything."""
    error = replication_params_error(params)
    if error:
        raise MySQLReplicationError(error)
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 1:
        raise MySQLReplicationError("wait_timeout must be at least 1 second (or set wait=false).")
    if params.get("connect_timeout") is not None and params["connect_timeout"] < 1:
        raise MySQLReplicationError("connect_timeout must be at least 1 second.")
    if params["role"] == "replica" and not (params.get("source_host") or "").strip():
        raise MySQLReplicationError("source_host must name the primary for role=replica.")


def run(params, check_mode, queries):
    """Do what ``params`` ask; returns the result dict. ``queries`` is filled as SQL runs."""
    validate(params)
    login = login_settings(params)
    session = SqlSession(connect(login, "the server to manage"), queries, check_mode=check_mode,
                         address=login.address)
    try:
        flavor = detect(session)
        if params["role"] == "primary":
            def try_login():
                account = settings_for(login, login.host, login.port,
                                       params["replication_user"], params["replication_password"])
                return can_log_in(account)
            return ensure_primary(session, flavor, params, try_login, login.address)

        def open_source():
            user = params.get("source_login_user") or params["replication_user"]
            password = params["source_login_password"] if params.get("source_login_user") else params["replication_password"]
            source = settings_for(login, params.get("source_login_host") or params["source_host"],
                                  params.get("source_login_port") or params["source_port"], user, password)
            purpose = "the source (as %s %s)" % (
                "source_login_user" if params.get("source_login_user") else "replication_user", user)
            return SqlSession(connect(source, purpose), queries, check_mode=check_mode,
                              label="source %s" % source.address, address=source.address)
        return ensure_replica(session, flavor, open_source, params, login.address)
    finally:
        session.close()
