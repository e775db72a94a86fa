# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the MySQL modules open a PyMySQL connection, TLS options included.

Settings come from module options or a client option file; errors say which server (host:port)
and which user failed and what to check."""
from __future__ import annotations

import configparser
import os

try:
    import pymysql
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module through missing_required_lib
    pymysql = None
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = exc

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError

ER_ACCESS_DENIED = 1045
ER_HOST_NOT_PRIVILEGED = 1130
ER_ACCESS_DENIED_NO_PASSWORD = 1698
CR_CONN_HOST_ERROR = 2003
CR_SERVER_LOST = 2013
CR_UNKNOWN_HOST = 2005


def read_client_section(path):
    """The [client] section of a MySQL option file as a dict (keys with '_' instead of '-')."""
    expanded = os.path.expanduser(path)
    try:
        with open(expanded) as handle:
            # !include / !includedir directives are not INI; skip them rather than fail.
            text = "".join(line for line in handle if not line.lstrip().startswith("!"))
    except OSError as exc:
        raise MySQLReplicationError("Cannot read config_file %s: %s." % (path, exc.strerror or exc))
    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None, strict=False)
    try:
        parser.read_string(text, source=expanded)
    except configparser.Error as exc:
        raise MySQLReplicationError("config_file %s is not a valid option file: %s" % (path, exc))
    if not parser.has_section("client"):
        return {}
    values = {}
    for key, value in parser.items("client"):
        if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.replace("-", "_")] = value
    return values


class ConnectionSettings(object):
    """Everything needed to open one connection, and a printable address for messages."""

    def __init__(self, host, port, user, password, unix_socket=None, ca_cert=None,
                 client_cert=None, client_key=None, check_hostname=None, connect_timeout=30, read_timeout=None):
        self.host = host
        self.port = int(port)
        self.user = user
        self.password = password
        self.unix_socket = unix_socket
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key
        self.check_hostname = check_hostname
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    @property
    def address(self):
        if self.unix_socket:
            return "socket %s" % self.unix_socket
        return "%s:%d" % (self.host, self.port)

    def pymysql_kwargs(self):
        kwargs = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password or "",
            "connect_timeout": self.connect_timeout,
            "autocommit": True,
            "charset": "utf8mb4",
        }
        if self.unix_socket:
            kwargs["unix_socket"] = self.unix_socket
        if self.read_timeout:
            kwargs["read_timeout"] = self.read_timeout
        if self.ca_cert or self.client_cert or self.client_key:
            kwargs["ssl_ca"] = self.ca_cert
            kwargs["ssl_cert"] = self.client_cert
            kwargs["ssl_key"] = self.client_key
            kwargs["ssl_verify_cert"] = bool(self.ca_cert)
            # Verify the name by default when a CA is given; check_hostname=false opts out.
            check = self.check_hostname if self.check_hostname is not None else bool(self.ca_cert)
            kwargs["ssl_verify_identity"] = bool(check)
        return kwargs


def login_settings(params):
    """Settings for the module's own server: options first, then the option file, then defaults."""
    from_file = read_client_section(params["config_file"]) if params.get("config_file") else {}

    def pick(option, file_key, default=None):
        if params.get(option) is not None:
            return params[option]
        if from_file.get(file_key) not in (None, ""):
            return from_file[file_key]
        return default

    return ConnectionSettings(
        host=pick("login_host", "host", "localhost"),
        port=pick("login_port", "port", 3306),
        user=pick("login_user", "user", "root"),
        password=pick("login_password", "password", ""),
        unix_socket=pick("login_unix_socket", "socket"),
        ca_cert=pick("ca_cert", "ssl_ca"),
        client_cert=pick("client_cert", "ssl_cert"),
        client_key=pick("client_key", "ssl_key"),
        check_hostname=params.get("check_hostname"),
        connect_timeout=params.get("connect_timeout") or 30,
    )


def settings_for(base, host, port, user, password):
    """Same TLS and timeout as ``base``, another server and account (e.g. the replication source)."""
    return ConnectionSettings(
        host=host, port=port, user=user, password=password, unix_socket=None,
        ca_cert=base.ca_cert, client_cert=base.client_cert, client_key=base.client_key,
        check_hostname=base.check_hostname, connect_timeout=base.connect_timeout)


def describe_connect_error(settings, exc, purpose="the server"):
    """A message for a failed connect: what was tried, what the server said, what to check."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = exc.args[1] if len(exc.args) > 1 else str(exc)
    who = "user %r" % settings.user
    if code in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD):
        return code, ("Access denied for %s at %s (%s): wrong password, or no such user for the "
                      "host you connect from. Server said: %s" % (who, settings.address, purpose, text))
    if code == ER_HOST_NOT_PRIVILEGED:
        return code, ("%s at %s (%s) does not accept connections from this host for %s. Server "
                      "said: %s" % (settings.address, settings.address, purpose, who, text))
    if "SSL" in text or "certificate" in text.lower():
        return code, ("TLS handshake with %s at %s failed: %s. Check ca_cert/client_cert/client_key; if "
                      "the certificate does not name the host you connect to, connect by a name it lists or "
                      "set check_hostname=false." % (purpose, settings.address, text))
    if code in (CR_CONN_HOST_ERROR, CR_UNKNOWN_HOST):
        return code, ("Cannot reach %s at %s: %s. Check the host name and port, that the server "
                      "is running and listening there." % (purpose, settings.address, text))
    if code == CR_SERVER_LOST:
        return code, ("Connection to %s at %s was lost during login (%s); a TLS mismatch or a "
                      "connect_timeout that is too short are the usual causes." % (purpose, settings.address, text))
    return code, "Cannot connect to %s at %s as %s: %s" % (purpose, settings.address, who, text)


def connect(settings, purpose="the server"):
    """Open a connection or raise MySQLReplicationError naming host:port and user."""
    try:
        return pymysql.connect(**settings.pymysql_kwargs())
    except pymysql.err.MySQLError as exc:
        code, msg = describe_connect_error(settings, exc, purpose)
        raise MySQLReplicationError(msg, error_code=code, address=settings.address)
    except (OSError, ValueError) as exc:  # bad certificate paths, socket errors before the handshake
        raise MySQLReplicationError("Cannot connect to %s at %s: %s" % (purpose, settings.address, exc),
                                    address=settings.address)


def can_log_in(settings):
    """True if the account authenticates, False on access denied; raises for anything else."""
    try:
        connection = pymysql.connect(**settings.pymysql_kwargs())
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD):
            return False
        code, msg = describe_connect_error(settings, exc, "the server (password check)")
        raise MySQLReplicationError(msg, error_code=code, address=settings.address)
    connection.close()
    return True
