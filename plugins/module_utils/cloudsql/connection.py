# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What cloudsql_connection_check proves on a connection it opened over TLS: SQL answers, the session is encrypted.

The connection itself is opened by the MySQL connection code (mysql/connection.py, TLS verified against
the instance's server CA); this file words its failures for a Cloud SQL user and runs the checks."""

from __future__ import annotations


class ConnectionCheckError(Exception):
    pass


def connect_failure(reason, server_text, message, host, port, user):
    """The message for a connection that did not open (``reason`` and texts from mysql/connection.py)."""
    if reason == "tls" and "mismatch" not in (server_text or "").lower():
        return ("TLS verification failed: the server certificate at %s:%s is not signed by the "
                "given server CA (%s). Use the instance's serverCaCert." % (host, port, server_text))
    if reason == "tls":
        return "TLS verification failed: %s" % message
    if reason == "input":
        return message
    return "Could not connect to %s:%s as %s: %s" % (host, port, user, message)


def check_connection(connection, host, port):
    """Run SELECT 1 on ``connection`` (closed afterwards); the server version and the TLS parameters in use."""
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
