# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Cloud SQL fixtures more than one test folder needs: TLS material (a server CA, a server and a
client certificate), the Admin API fake (statefuldb_dev.cloudsql_api) and a real service-account key
whose token_uri points at it.

tests/integration/cloudsql, tests/integration/bad_input and tests/awx import these fixtures by name
into their conftest.py.
"""
import datetime
import json
import os
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from statefuldb_dev.cloudsql_api import FakeCloudSql
from statefuldb_dev.cloudsql_support import PROJECT


# ---- TLS material ---------------------------------------------------------------------------
def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(common_name):
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, common_name):
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory):
    """A server CA (what the fake returns as serverCaCert), a server certificate signed by it,
    and an unrelated CA for the wrong-CA test."""
    directory = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = make_ca("Google Cloud SQL Server CA (test)")
    server_key, server_cert = make_server_cert(ca_key, ca_cert, "%s:test-instance" % PROJECT)
    _other_key, other_ca = make_ca("Some other CA")
    # A client certificate signed by the same CA, as Cloud SQL issues for
    # TRUSTED_CLIENT_CERTIFICATE_REQUIRED instances.
    client_key, client_cert = make_server_cert(ca_key, ca_cert, "x509user")
    paths = {}
    for name, text in (("ca.pem", _pem_cert(ca_cert)), ("server-cert.pem", _pem_cert(server_cert)),
                       ("server-key.pem", _pem_key(server_key)), ("client-cert.pem", _pem_cert(client_cert)),
                       ("client-key.pem", _pem_key(client_key))):
        path = directory / name
        path.write_text(text)
        os.chmod(path, 0o600)
        paths[name] = str(path)
    return {"ca_pem": _pem_cert(ca_cert), "wrong_ca_pem": _pem_cert(other_ca), "paths": paths}


# ---- the Admin API fake and credentials -----------------------------------------------------
@pytest.fixture(scope="session")
def fake_api():
    fake = FakeCloudSql().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def service_account(fake_api, tmp_path_factory):
    """A generated service-account key (real RSA) whose token_uri is the fake's token endpoint."""
    key = _key()
    email = "ansible@%s.iam.gserviceaccount.com" % PROJECT
    info = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": uuid.uuid4().hex,
        "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode(),
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": fake_api.token_uri,
    }
    fake_api.add_service_account(email, key.public_key())
    path = tmp_path_factory.mktemp("gcp") / "sa.json"
    path.write_text(json.dumps(info))
    os.chmod(path, 0o600)
    return {"info": info, "path": str(path), "email": email}
