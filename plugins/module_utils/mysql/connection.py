# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way every module opens a PyMySQL connection, TLS options included.

Settings come from module options or a client option file; the TLS context is built here (CA from a
file or as PEM text), so a wrong TLS file is named before any connection. Errors say which server
(host:port) and which user failed and what to check; ``is_transient`` tells common/retry.py which
failures waiting can cure."""
from __future__ import annotations

import configparser
import dataclasses
import os
import ssl

try:
    import pymysql
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module through missing_required_lib
    pymysql = None
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = exc

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import RetryPolicy, call_with_retry
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


# How the modules call the TLS files, for messages; cloudsql_connection_check's CA is server_ca_cert.
TLS_OPTION_NAMES = {"ca": "ca_cert", "cert": "client_cert", "key": "client_key"}


class ConnectError(MySQLReplicationError):
    """A connection that did not open. ``reason``: input (a TLS option), tls, access or network."""

    def __init__(self, msg, reason, server_text=None, **details):
        super().__init__(msg, **details)
        self.reason = reason
        self.server_text = server_text


@dataclasses.dataclass
class ConnectionSettings:
    """Everything needed to open one connection, and a printable address for messages."""

    host: str
    port: int
    user: str
    password: str = dataclasses.field(default=None, repr=False)
    unix_socket: str = None
    ca_cert: str = None          # a file; or ca_data, the PEM text itself
    client_cert: str = None
    client_key: str = None
    check_hostname: bool = None  # None: checked whenever a CA is given
    connect_timeout: int = 30
    read_timeout: int = None
    ca_data: str = dataclasses.field(default=None, repr=False)
    database: str = None
    option_names: dict = dataclasses.field(default_factory=lambda: dict(TLS_OPTION_NAMES), repr=False)
    _context: object = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self.port = int(self.port)

    @property
    def address(self):
        if self.unix_socket:
            return "socket %s" % self.unix_socket
        return "%s:%d" % (self.host, self.port)

    @property
    def verifies(self):
        return bool(self.ca_cert or self.ca_data)

    @property
    def uses_tls(self):
        return bool(self.verifies or self.client_cert or self.client_key)

    def tls_context(self):
        """The SSLContext of these settings (None without TLS options), built once.

        Raises ConnectError naming the option for a file that is missing or not what it should be,
        so modules call it before connecting anywhere."""
        if self._context is None and self.uses_tls:
            self._context = build_tls_context(self)
        return self._context

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
        if self.database:
            kwargs["database"] = self.database
        if self.uses_tls:
            kwargs["ssl"] = self.tls_context()
        return kwargs


def _input_error(msg):
    return ConnectError(msg, "input")


def _readable(path, option):
    """``path`` expanded, or ConnectError naming ``option`` when it is not a readable file."""
    expanded = os.path.expanduser(path)
    if not os.path.isfile(expanded):
        return None, _input_error("%s: %s is not a file (%s)" % (
            option, path, "no such file" if not os.path.exists(expanded) else "a directory or device"))
    if not os.access(expanded, os.R_OK):
        return None, _input_error("%s: %s is not readable by this user" % (option, path))
    return expanded, None


def build_tls_context(settings):
    """A TLS client context for ``settings``; every user mistake is a ConnectError naming the option."""
    names = settings.option_names
    check = settings.check_hostname if settings.check_hostname is not None else settings.verifies
    if check and not settings.verifies:
        raise _input_error("check_hostname=true needs %s: a host name is only checked on a certificate "
                           "verified against a CA" % names["ca"])
    if settings.client_key and not settings.client_cert:
        raise _input_error("%s is set without %s" % (names["key"], names["cert"]))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # As PyMySQL does: certificates MySQL generates itself fail Python 3.13's strict X.509 checks.
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    context.check_hostname = bool(check)
    context.verify_mode = ssl.CERT_REQUIRED if settings.verifies else ssl.CERT_NONE
    if settings.ca_cert:
        path, error = _readable(settings.ca_cert, names["ca"])
        if error:
            raise error
        try:
            context.load_verify_locations(cafile=path)
        except (ssl.SSLError, ValueError) as exc:
            raise _input_error("%s: %s holds no PEM certificate (%s)" % (names["ca"], settings.ca_cert, exc))
    elif settings.ca_data:
        try:
            context.load_verify_locations(cadata=settings.ca_data)
        except (ssl.SSLError, ValueError) as exc:
            raise _input_error("%s is not a PEM certificate: %s" % (names["ca"], exc))
    if settings.client_cert:
        cert, error = _readable(settings.client_cert, names["cert"])
        key, key_error = _readable(settings.client_key, names["key"]) if settings.client_key else (None, None)
        if error or key_error:
            raise error or key_error
        try:
            context.load_cert_chain(cert, key)
        except ssl.SSLError as exc:
            if "KEY_VALUES_MISMATCH" in str(exc):
                raise _input_error("%s %s is not the key of %s %s" % (
                    names["key"], settings.client_key, names["cert"], settings.client_cert))
            raise _input_error("%s/%s could not be loaded: %s (PEM certificate and PEM key; give %s unless "
                               "the certificate file holds the key too)" % (names["cert"], names["key"], exc, names["key"]))
    return context


def login_settings(params):
    """Settings for the module's own server: options first, then the option file, then defaults."""
    from_file = read_client_section(params["config_file"]) if params.get("config_file") else {}
    names = dict(TLS_OPTION_NAMES)

    def pick(option, file_key, default=None):
        if params.get(option) is not None:
            return params[option]
        if from_file.get(file_key) not in (None, ""):
            if option in names.values():  # messages about the file name the file's key
                names.update({k: "%s of config_file" % file_key.replace("_", "-") for k, v in names.items() if v == option})
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
        option_names=names,
    )


def settings_for(base, host, port, user, password):
    """Same TLS and timeouts as ``base``, another server and account (e.g. the replication source)."""
    return dataclasses.replace(base, host=host, port=port, user=user, password=password, unix_socket=None)


# A link that dropped during the TLS handshake (a port-forward stream or a pod restarting under us)
# is not a TLS mistake: it is retried like any lost connection.
_DROPPED_LINK = ("unexpected_eof", "eof occurred", "connection reset", "timed out", "broken pipe")


def _tls_failure(text):
    """A TLS failure that waiting does not fix: a certificate that does not verify, a refused handshake."""
    lowered = text.lower()
    if any(marker in lowered for marker in _DROPPED_LINK):
        return False
    return "SSL" in text or "certificate" in lowered


def describe_connect_error(settings, exc, purpose="the server"):
    """(error code, reason, message) for a failed connect: what was tried, what the server said, what to check."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = exc.args[1] if len(exc.args) > 1 else str(exc)
    who = "user %r" % settings.user
    if code in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD):
        return code, "access", ("Access denied for %s at %s (%s): wrong password, or no such user for the "
                                "host you connect from. Server said: %s" % (who, settings.address, purpose, text))
    if code == ER_HOST_NOT_PRIVILEGED:
        return code, "access", ("%s at %s (%s) does not accept connections from this host for %s. Server "
                                "said: %s" % (settings.address, settings.address, purpose, who, text))
    if _tls_failure(text):
        names = settings.option_names
        return code, "tls", ("TLS handshake with %s at %s failed: %s. Check %s/%s/%s; if the certificate does not "
                             "name the host you connect to, connect by a name it lists or set check_hostname=false."
                             % (purpose, settings.address, text, names["ca"], names["cert"], names["key"]))
    if code in (CR_CONN_HOST_ERROR, CR_UNKNOWN_HOST):
        return code, "network", ("Cannot reach %s at %s: %s. Check the host name and port, that the server "
                                 "is running and listening there." % (purpose, settings.address, text))
    if code == CR_SERVER_LOST:
        return code, "network", ("Connection to %s at %s was lost during login (%s); a TLS mismatch or a connect_timeout "
                                 "that is too short are the usual causes." % (purpose, settings.address, text))
    return code, "network", "Cannot connect to %s at %s as %s: %s" % (purpose, settings.address, who, text)


# A port-forward stream that drops during the TLS handshake ends in an EOF; opening the link again
# is what a client does, for as long as connect_timeout allows (a kubelet's port-forward for one pod
# has been seen failing every handshake for more than 5 s under load). Any other failure is the
# caller's to handle.
_HANDSHAKE_EOF = ("unexpected_eof", "eof occurred")


def _eof_in_handshake(exc):
    return isinstance(exc, ConnectError) and any(
        marker in (exc.server_text or "").lower() for marker in _HANDSHAKE_EOF)


def connect(settings, purpose="the server", retry_seconds=None):
    """Open a connection or raise ConnectError (a MySQLReplicationError) naming host:port and user.

    A handshake cut off by a dropped link is tried again for ``retry_seconds`` (default: connect_timeout)."""
    window = settings.connect_timeout if retry_seconds is None else retry_seconds
    return call_with_retry(lambda: _connect_once(settings, purpose), RetryPolicy(window), _eof_in_handshake)


def _connect_once(settings, purpose):
    kwargs = settings.pymysql_kwargs()  # a TLS option mistake raises here, before any connection
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.MySQLError as exc:
        code, reason, msg = describe_connect_error(settings, exc, purpose)
        text = exc.args[1] if len(exc.args) > 1 else str(exc)
        raise ConnectError(msg, reason, server_text=text, error_code=code, address=settings.address)
    except (OSError, ValueError) as exc:  # socket errors before the handshake, a certificate refused by ssl
        reason = "tls" if isinstance(exc, ssl.SSLError) else "network"
        raise ConnectError("Cannot connect to %s at %s: %s" % (purpose, settings.address, exc), reason,
                           server_text=str(exc), address=settings.address)


def can_log_in(settings):
    """True if the account authenticates, False on access denied; raises for anything else."""
    try:
        connection = connect(settings, "the server (password check)")
    except ConnectError as exc:
        if exc.details.get("error_code") in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD):
            return False
        raise
    connection.close()
    return True


def is_transient(exc):
    """Whether a failed connect or query may pass unchanged: a server starting, a name not in DNS yet, a lost link.

    For common/retry.py's call_with_retry. Wrong credentials, a certificate that does not verify and a
    TLS option mistake fail at once: waiting does not fix them."""
    if isinstance(exc, ConnectError):
        return exc.reason == "network"
    if pymysql is not None and isinstance(exc, pymysql.err.MySQLError):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = exc.args[1] if len(exc.args) > 1 else str(exc)
        return code not in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD) and not _tls_failure(str(text))
    return False
