# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks and messages of cloudsql_connection_check on a connection (the real one is in the integration tests)."""
import re

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.connection import (
    ConnectionCheckError,
    check_connection,
    connect_failure,
)


class _Cursor:
    def __init__(self, ssl_version):
        self.answers = []
        self.ssl_version = ssl_version

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql):
        self.sql = sql

    def fetchone(self):
        return {"SELECT 1": (1,), "SELECT VERSION()": ("8.0.41-google",), "SELECT DATABASE()": ("app",)}[self.sql]

    def fetchall(self):
        return [("Ssl_version", self.ssl_version), ("Ssl_cipher", "TLS_AES_256_GCM_SHA384")] if self.ssl_version else []


class Connection:
    def __init__(self, ssl_version):
        self.ssl_version = ssl_version
        self.closed = False

    def cursor(self):
        return _Cursor(self.ssl_version)

    def close(self):
        self.closed = True


def test_check_connection_reports_the_tls_in_use():
    conn = Connection("TLSv1.3")
    result = check_connection(conn, "127.0.0.1", 3306)
    assert result == {"select_1": 1, "server_version": "8.0.41-google", "tls_version": "TLSv1.3",
                      "ssl_cipher": "TLS_AES_256_GCM_SHA384", "database": "app"}
    assert conn.closed


def test_check_connection_refuses_a_plain_text_session():
    conn = Connection("")
    with pytest.raises(ConnectionCheckError, match="was not encrypted"):
        check_connection(conn, "127.0.0.1", 3306)
    assert conn.closed


@pytest.mark.parametrize("reason, server_text, message", [
    ("tls", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
     "^TLS verification failed: the server certificate at 127.0.0.1:3306 is not signed by the given server CA"),
    ("tls", "certificate verify failed: IP address mismatch", "^TLS verification failed: handshake failed"),
    ("access", "Access denied for user 'app'", "^Could not connect to 127.0.0.1:3306 as app: handshake failed"),
    ("input", None, "^handshake failed"),
])
def test_connect_failures_say_what_to_fix(reason, server_text, message):
    assert re.match(message, connect_failure(reason, server_text, "handshake failed", "127.0.0.1", 3306, "app"))
