# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real MySQL client connection over TLS, the server certificate verified against a CA."""

from __future__ import annotations

import ssl

try:
    import pymysql
    HAS_PYMYSQL = True
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    HAS_PYMYSQL = False


class ConnectionCheckError(Exception):
    pass


def build_tls_context(server_ca_cert, check_hostname=False, client_cert=None, client_key=None):
    """TLS context trusting only the instance's server CA (PEM text)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Cloud SQL server certificates name the instance, not its IP, so the name check is optional;
    # the chain is always verified against the server CA.
    context.check_hostname = bool(check_hostname)
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(cadata=server_ca_cert)
    except (ssl.SSLError, ValueError) as exc:
        raise ConnectionCheckError("server_ca_cert is not a PEM certificate: %s" % exc)
    if client_cert or client_key:
        try:
            context.load_cert_chain(client_cert, client_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionCheckError("client_cert/client_key could not be loaded: %s" % exc)
    return context


def check_connection(host, port, user, password, server_ca_cert, database=None,
                     check_hostname=False, client_cert=None, client_key=None, connect_timeout=10):
    """Connect, run SELECT 1 and return the server version and the TLS parameters in use."""
    context = build_tls_context(server_ca_cert, check_hostname, client_cert, client_key)
    try:
        connection = pymysql.connect(host=host, port=port, user=user, password=password or "",
                                     database=database or None, ssl=context,
                                     connect_timeout=connect_timeout)
    except pymysql.err.MySQLError as exc:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            raise ConnectionCheckError(
                "TLS verification failed: the server certificate at %s:%s is not signed by the "
                "given server CA (%s). Use the instance's serverCaCert." % (host, port, text))
        raise ConnectionCheckError("Could not connect to %s:%s as %s: %s" % (host, port, user, text))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            select_one = cursor.fetchone()[0]
            cursor.execute("SELECT VERSION()")
            server_version = cursor.fetchone()[0]
            cursor.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
            status = dict(cursor.fetchall())
            cursor.execute("SELECT DATABASE()")
            current_database = cursor.fetchone()[0]
    finally:
        connection.close()
    if not status.get("Ssl_version"):
        raise ConnectionCheckError("the connection to %s:%s was not encrypted" % (host, port))
    return {
        "select_1": select_one,
        "server_version": server_version,
        "tls_version": status.get("Ssl_version"),
        "ssl_cipher": status.get("Ssl_cipher"),
        "database": current_database,
    }
