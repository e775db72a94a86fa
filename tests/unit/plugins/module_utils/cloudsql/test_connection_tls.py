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
