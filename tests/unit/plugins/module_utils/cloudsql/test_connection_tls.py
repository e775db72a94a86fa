# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TLS context of the connection check (the real connection is in the integration tests)."""
import ssl

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.connection import (
    ConnectionCheckError,
    build_tls_context,
)


def _ca_pem():
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_context_verifies_against_the_given_ca_only():
    context = build_tls_context(_ca_pem())
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is False
    assert len(context.get_ca_certs()) == 1
    assert build_tls_context(_ca_pem(), check_hostname=True).check_hostname is True


def test_not_a_certificate():
    with pytest.raises(ConnectionCheckError, match="not a PEM certificate"):
        build_tls_context("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")


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


class _Connection:
    def __init__(self, ssl_version):
        self.ssl_version = ssl_version
        self.closed = False

    def cursor(self):
        return _Cursor(self.ssl_version)

    def close(self):
        self.closed = True


def _patch_connect(monkeypatch, answer):
    from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql import connection
    seen = {}

    def connect(**kwargs):
        seen.update(kwargs)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(connection.pymysql, "connect", connect)
    return connection, seen


def test_check_connection_reports_the_tls_in_use(monkeypatch):
    conn = _Connection("TLSv1.3")
    connection, seen = _patch_connect(monkeypatch, conn)
    result = connection.check_connection("127.0.0.1", 3306, "app", None, _ca_pem(), database="app")
    assert result == {"select_1": 1, "server_version": "8.0.41-google", "tls_version": "TLSv1.3",
                      "ssl_cipher": "TLS_AES_256_GCM_SHA384", "database": "app"}
    assert isinstance(seen["ssl"], ssl.SSLContext) and seen["password"] == "" and conn.closed


def test_check_connection_refuses_a_plain_text_session(monkeypatch):
    connection, _seen = _patch_connect(monkeypatch, _Connection(""))
    with pytest.raises(ConnectionCheckError, match="was not encrypted"):
        connection.check_connection("127.0.0.1", 3306, "app", "pw", _ca_pem())


@pytest.mark.parametrize("text,message", [
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "not signed by the given server CA"),
    ("Access denied for user 'app'", "Could not connect to 127.0.0.1:3306 as app"),
])
def test_check_connection_failures_say_what_to_fix(monkeypatch, text, message):
    import pymysql
    connection, _seen = _patch_connect(monkeypatch, pymysql.err.OperationalError(2003, text))
    with pytest.raises(ConnectionCheckError, match=message):
        connection.check_connection("127.0.0.1", 3306, "app", "pw", _ca_pem())


def test_a_client_key_that_does_not_load_is_named(tmp_path):
    with pytest.raises(ConnectionCheckError, match="client_cert/client_key could not be loaded"):
        build_tls_context(_ca_pem(), client_cert=str(tmp_path / "missing.pem"), client_key=str(tmp_path / "k.pem"))
