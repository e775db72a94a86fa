"""Throwaway MariaDB servers for the mysql_replication integration tests (statefuldb_dev.mariadb).

Each server is a real `mariadbd` (Debian's mariadb-server, see tools/system-deps.sh) with its own
datadir under pytest's tmp_path, listening on 127.0.0.1 at a free port, with a root password,
its own server_id, binary log and GTIDs. The system service is never used or touched.
"""
import os
import shutil
import tempfile

import pytest

from statefuldb_dev import playbook
from statefuldb_dev.mariadb import MARIADBD, MariaDBServer, free_port


@pytest.fixture
def mariadb():
    """Factory: mariadb("primary", server_id=1, log_bin=True) -> a running MariaDBServer."""
    if not os.path.exists(MARIADBD):
        pytest.fail("mariadbd is not installed: run `bash tools/system-deps.sh` (Debian mariadb-server).")
    servers = []
    # Short base path: Unix socket paths are limited to 107 bytes.
    base = tempfile.mkdtemp(prefix="sfdb-mdb-")

    def _start(name, server_id, log_bin=True, tls=None):
        server = MariaDBServer(base, name, server_id, log_bin=log_bin, tls=tls)
        servers.append(server)
        server.start(first_boot=True)
        server.set_root_password()
        return server

    yield _start
    for server in reversed(servers):
        server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def run_playbook():
    """A real ansible-playbook run without a cluster (statefuldb_dev.playbook)."""
    return playbook.run_playbook


@pytest.fixture
def replication(run_playbook):
    """Run one statefuldb.k8s.mysql_replication task; returns (PlaybookRun, the task's result)."""

    def _run(check=False, diff=False, verbosity=0, **options):
        task = {"name": "mysql_replication", "statefuldb.k8s.mysql_replication": options,
                "ignore_errors": True}
        run = run_playbook([task], check=check, diff=diff, verbosity=verbosity,
                           json_output=verbosity == 0)
        result = run.results[0] if run.results else {}
        return run, result

    return _run


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (just released by the OS)."""
    return free_port()


def _write_pem(path, data):
    with open(path, "wb") as handle:
        handle.write(data)
    return path


@pytest.fixture
def tls_files(tmp_path):
    """A throwaway CA, a server certificate for IP 127.0.0.1 only, and a client certificate."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())

    def issue(subject, issuer, key, issuer_key, ca=False, san=None):
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    base = str(tmp_path)
    return {
        "ca": _write_pem(os.path.join(base, "ca.pem"), issue("test-ca", "test-ca", ca_key, ca_key, ca=True)),
        "server_cert": _write_pem(os.path.join(base, "server.pem"), issue(
            "db-server", "test-ca", server_key, ca_key, san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])),
        "server_key": _write_pem(os.path.join(base, "server-key.pem"), key_pem(server_key)),
        "client_cert": _write_pem(os.path.join(base, "client.pem"), issue("ops", "test-ca", client_key, ca_key)),
        "client_key": _write_pem(os.path.join(base, "client-key.pem"), key_pem(client_key)),
    }
