# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the Cloud SQL tests: the local Admin API fake, a real service-account key whose
token_uri points at the fake, TLS material, and a throwaway MariaDB server with TLS on loopback.

Needs /usr/sbin/mariadbd and mariadb-install-db (Debian mariadb-server) for the connection tests.
"""

import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from statefuldb_dev import playbook
from statefuldb_dev.cloudsql_api import FakeCloudSql

HERE = os.path.dirname(os.path.abspath(__file__))
# Test modules import cloudsql_support; works with pytest's prepend and importlib import modes, and
# when tests/awx and tests/integration/bad_input load this file for its fixtures.
sys.path.insert(0, HERE)

from cloudsql_support import PROJECT  # noqa: E402


@pytest.fixture
def run_playbook():
    """A real ansible-playbook run without a cluster (statefuldb_dev.playbook)."""
    return playbook.run_playbook


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


@pytest.fixture
def instance_name(fake_api, tls_material, request):
    """A fresh instance in the fake for one test; its server CA is the test CA."""
    name = "db-%s" % uuid.uuid4().hex[:8]
    fake_api.add_instance(PROJECT, name, public_ip="127.0.0.1", server_ca_pem=tls_material["ca_pem"])
    return name


@pytest.fixture
def gcp(fake_api, service_account, instance_name):
    """Module options shared by every Cloud SQL task in the tests."""
    return {
        "project": PROJECT,
        "instance": instance_name,
        "auth_kind": "serviceaccount",
        "service_account_file": service_account["path"],
        "api_endpoint": fake_api.base_url,
        "wait_timeout": 30,
    }


# ---- a throwaway MariaDB server with TLS on loopback ----------------------------------------
def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MariaDB(object):
    def __init__(self, port, socket_path, app_user, app_password, app_database, process, datadir):
        self.host = "127.0.0.1"
        self.port = port
        self.socket = socket_path
        self.app_user = app_user
        self.app_password = app_password
        self.app_database = app_database
        self.process = process
        self.datadir = datadir

    def root(self):
        import pymysql
        return pymysql.connect(unix_socket=self.socket, user="root", autocommit=True)

    def execute(self, statement, params=()):
        """Run one statement as root (what the fake does for user/database operations)."""
        connection = self.root()
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params or None)
                return cursor.fetchall()
        finally:
            connection.close()


@pytest.fixture(scope="session")
def mariadb(tls_material):
    """mariadbd on 127.0.0.1:<free port>, TLS required (require_secure_transport), with a user
    'app'@'%' (REQUIRE SSL) and a database 'appdb'."""
    base = tempfile.mkdtemp(prefix="cloudsql-mariadb-")
    datadir = os.path.join(base, "data")
    sock = os.path.join(base, "mysqld.sock")
    port = _free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + datadir, "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, capture_output=True, timeout=300)
    paths = tls_material["paths"]
    log = open(os.path.join(base, "error.log"), "w")
    process = subprocess.Popen(
        ["/usr/sbin/mariadbd", "--no-defaults", "--user=root", "--datadir=" + datadir,
         "--socket=" + sock, "--port=%d" % port, "--bind-address=127.0.0.1",
         "--pid-file=" + os.path.join(base, "mysqld.pid"), "--skip-name-resolve",
         "--ssl-ca=" + paths["ca.pem"], "--ssl-cert=" + paths["server-cert.pem"],
         "--ssl-key=" + paths["server-key.pem"], "--require-secure-transport=ON",
         "--innodb-buffer-pool-size=16M", "--performance-schema=OFF", "--skip-log-bin"],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    import pymysql
    while True:
        try:
            conn = pymysql.connect(unix_socket=sock, user="root", autocommit=True)
            break
        except pymysql.err.OperationalError:
            if process.poll() is not None or time.time() > deadline:
                log.close()
                raise RuntimeError("mariadbd did not start: %s"
                                   % open(os.path.join(base, "error.log")).read()[-2000:])
            time.sleep(0.2)
    app_password = "App-" + uuid.uuid4().hex
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE appdb CHARACTER SET utf8mb4")
        cur.execute("CREATE USER 'app'@'%%' IDENTIFIED BY %s REQUIRE SSL", (app_password,))
        cur.execute("GRANT ALL ON appdb.* TO 'app'@'%'")
        cur.execute("CREATE USER 'x509user'@'%%' IDENTIFIED BY %s REQUIRE X509", (app_password,))
    conn.close()
    server = MariaDB(port, sock, "app", app_password, "appdb", process, datadir)
    yield server
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def mysql_backed_instance(fake_api, mariadb, instance_name):
    """The test's instance with its user and database operations applied to the real MariaDB."""
    fake_api.attach_mysql(PROJECT, instance_name, mariadb.execute)
    return instance_name
