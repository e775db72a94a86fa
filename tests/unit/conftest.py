"""Fixtures shared by the unit tests: throwaway TLS files (a CA, a client certificate and its key)."""
import datetime

import pytest


def _issue(subject, issuer_key, key, issuer=None, ca=False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """{"ca", "client_cert", "client_key", "other_key"}: paths; "ca_pem": the CA as text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())

    ca_key, client_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for dummy in range(3))
    ca = _issue("unit test CA", ca_key, ca_key, ca=True)
    client = _issue("ops", ca_key, client_key, issuer=ca.subject)
    base = tmp_path_factory.mktemp("tls")
    files = {"ca": ca.public_bytes(serialization.Encoding.PEM), "client_cert": client.public_bytes(serialization.Encoding.PEM),
             "client_key": key_pem(client_key), "other_key": key_pem(other_key)}
    paths = {}
    for name, data in files.items():
        (base / (name + ".pem")).write_bytes(data)
        paths[name] = str(base / (name + ".pem"))
    paths["ca_pem"] = files["ca"].decode()
    return paths
