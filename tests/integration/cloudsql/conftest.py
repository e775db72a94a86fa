# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the Cloud SQL tests: the local Admin API fake, a real service-account key whose
token_uri points at the fake and TLS material (statefuldb_dev.cloudsql_fixtures, shared with
tests/awx and tests/integration/bad_input), and a throwaway MariaDB server with TLS on loopback.

Needs /usr/sbin/mariadbd and mariadb-install-db (Debian mariadb-server) for the connection tests.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

from statefuldb_dev import cloudsql_fixtures, playbook
from statefuldb_dev.cloudsql_support import PROJECT

# The fixtures tests/awx and tests/integration/bad_input share with these tests, under their own
# names (pytest finds a fixture by its name in conftest.py).
tls_material = cloudsql_fixtures.tls_material
fake_api = cloudsql_fixtures.fake_api
service_account = cloudsql_fixtures.service_account


@pytest.fixture
def run_playbook():
    """A real ansible-playbook run without a cluster (statefuldb_dev.playbook)."""
    return playbook.run_playbook


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
