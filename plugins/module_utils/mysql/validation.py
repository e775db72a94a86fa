# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host and account names checked before any connection or statement.

Statements use parameters, so a quote in a name is no injection; it is still a mistake, and one
that would be stored in the replica's configuration before anything complained. These checks
make such a value fail first, with the option's name.
"""
from __future__ import annotations

import ipaddress
import re

# RFC 1123 host names (labels of letters, digits, '-' and, as resolvers accept, '_'), at most 255
# characters as MASTER_HOST/SOURCE_HOST allow.
HOST_LABEL = re.compile(r"^[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?$")
# An account host as in 'user'@'host': a name or address with the wildcards % and _, or addr/mask.
ACCOUNT_HOST = re.compile(r"^[A-Za-z0-9.%_:-]{1,255}(/[0-9.]{1,15})?$")
USER_MAX = 80  # MariaDB; MySQL allows 32 and says so itself
USER_FORBIDDEN = re.compile(r"[\s'\"`\\;]|[\x00-\x1f]")


def host_error(value, field):
    """None when ``value`` is a host name, an IPv4 or an IPv6 address."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return "%s is empty; give a host name or an IP address" % field
    text = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    if len(value) > 255 or not name or not all(HOST_LABEL.match(label) for label in name.split(".")):
        return ("%s: %r is not a host name or IP address (letters, digits, '-' and '.', such as "
                "db-0.db.data.svc.cluster.local or 10.0.0.5)" % (field, value))
    return None


def user_error(value, field):
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        return "%s is empty; give the account name" % field
    if len(value) > USER_MAX or USER_FORBIDDEN.search(value):
        return ("%s: %r is not a usable account name (at most %d characters, no spaces, quotes, backslashes "
                "or ';')" % (field, value, USER_MAX))
    return None


def account_host_error(value, field):
    if value is None:
        return None
    if not isinstance(value, str) or not ACCOUNT_HOST.match(value):
        return ("%s: %r is not an account host; give %% (any host), a host name, an IP address, a pattern "
                "such as 10.0.%% or addr/mask" % (field, value))
    return None


def port_error(value, field):
    if value is not None and not 0 < value < 65536:
        return "%s=%s is not a TCP port; use 1-65535." % (field, value)
    return None


def replication_params_error(params):
    """The first mistake in mysql_replication's options, or None."""
    checks = [host_error(params.get("login_host"), "login_host"),
              host_error(params.get("source_host"), "source_host"),
              host_error(params.get("source_login_host"), "source_login_host"),
              user_error(params.get("login_user"), "login_user"),
              user_error(params.get("replication_user"), "replication_user"),
              user_error(params.get("source_login_user"), "source_login_user"),
              account_host_error(params.get("replication_user_host"), "replication_user_host")]
    checks += [port_error(params.get(name), name) for name in ("login_port", "source_port", "source_login_port")]
    for error in checks:
        if error:
            return error
    return None


DATABASE_NAME = re.compile(r"^[A-Za-z0-9_$-]{1,64}$")


def database_error(value, field):
    if value is None:
        return None
    if not isinstance(value, str) or not DATABASE_NAME.match(value):
        return ("%s: %r is not a valid database name (1-64 letters, digits, '_', '$' or '-')" % (field, value))
    return None


def positive_error(value, field):
    if value is not None and value < 1:
        return "%s must be at least 1 second, got %s" % (field, value)
    return None


def _first(checks):
    return next((error for error in checks if error), None)


def cluster_check_params_error(params):
    """mysql_cluster_check: every member's host and port, the login and the timeouts."""
    checks = []
    for index, member in enumerate(params.get("members") or []):
        checks += [host_error(member.get("host"), "members[%d].host" % index),
                   port_error(member.get("port"), "members[%d].port" % index)]
    checks += [user_error(params.get("login_user"), "login_user"),
               database_error(params.get("database"), "database"),
               positive_error(params.get("connect_timeout"), "connect_timeout"),
               positive_error(params.get("timeout"), "timeout")]
    if not params.get("members"):
        checks.append("members is empty; give at least the primary (name, host, port, primary: true)")
    return _first(checks)


def connection_params_error(params):
    """cloudsql_connection_check: where to connect and as whom."""
    return _first([host_error(params.get("login_host"), "login_host"),
                   port_error(params.get("login_port"), "login_port"),
                   user_error(params.get("login_user"), "login_user"),
                   database_error(params.get("database"), "database"),
                   positive_error(params.get("connect_timeout"), "connect_timeout")])
