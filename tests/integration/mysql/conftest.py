"""Throwaway MariaDB servers for the mysql_replication integration tests.

Each server is a real `mariadbd` (Debian's mariadb-server, see tools/system-deps.sh) with its own
datadir under pytest's tmp_path, listening on 127.0.0.1 at a free port, with a root password,
its own server_id, binary log and GTIDs. The system service is never used or touched.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pymysql
import pytest

from statefuldb_dev.playbook import run_playbook

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
ROOT_PASSWORD = "root-Pw-4b1d"


def free_port():
    """A free loopback port below the ephemeral range, so client sockets do not take it meanwhile."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class PortTaken(RuntimeError):
    """Another process bound the port between our check and mariadbd's bind."""


class MariaDBServer:
    """One mariadbd process; ``sql()`` runs statements as root over TCP."""

    def __init__(self, base, name, server_id, log_bin=True, tls=None):
        self.name = name
        self.dir = os.path.join(base, name)
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.error_log = os.path.join(self.dir, "error.log")
        self.host = "127.0.0.1"
        self.port = free_port()
        self.server_id = server_id
        self.log_bin = log_bin
        self.tls = tls
        self.root_password = ROOT_PASSWORD
        self.process = None
        os.makedirs(self.dir)
        install = subprocess.run(
            [INSTALL_DB, "--no-defaults", "--datadir=" + self.datadir, "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, text=True, timeout=120, check=False)
        if install.returncode != 0:
            raise RuntimeError("mariadb-install-db failed: %s" % install.stderr[-2000:])

    def command(self, skip_slave_start=False):
        cmd = [MARIADBD, "--no-defaults", "--user=root", "--datadir=" + self.datadir,
               "--bind-address=127.0.0.1", "--port=%d" % self.port, "--socket=" + self.socket,
               "--pid-file=" + os.path.join(self.dir, "mysqld.pid"), "--log-error=" + self.error_log,
               "--server-id=%d" % self.server_id, "--skip-name-resolve",
               "--relay-log=relay-bin", "--innodb-buffer-pool-size=16M", "--max-connections=50",
               "--performance-schema=OFF"]
        if self.log_bin:
            # As the mysql_cluster role configures its servers.
            cmd += ["--log-bin=mysql-bin", "--log-slave-updates", "--gtid-strict-mode=ON", "--binlog-format=ROW"]
        if skip_slave_start:
            cmd.append("--skip-slave-start")
        if self.tls:
            cmd += ["--ssl-ca=" + self.tls["ca"], "--ssl-cert=" + self.tls["server_cert"],
                    "--ssl-key=" + self.tls["server_key"]]
        return cmd

    def start(self, skip_slave_start=False, first_boot=False):
        for attempt in range(3):
            try:
                return self._start(skip_slave_start, first_boot)
            except PortTaken:
                if not first_boot or attempt == 2:
                    raise
                self.port = free_port()

    def _start(self, skip_slave_start, first_boot):
        self.process = subprocess.Popen(self.command(skip_slave_start), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                if "Address already in use" in self.log_tail(15):
                    raise PortTaken(self.port)
                raise RuntimeError("mariadbd %s exited with %s:\n%s" % (self.name, self.process.returncode, self.log_tail()))
            try:
                if first_boot:
                    conn = pymysql.connect(unix_socket=self.socket, user="root", password="", connect_timeout=2)
                else:
                    conn = self.connect()
                conn.close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mariadbd %s did not accept connections:\n%s" % (self.name, self.log_tail()))
                time.sleep(0.1)

    def set_root_password(self):
        conn = pymysql.connect(unix_socket=self.socket, user="root", password="", autocommit=True)
        with conn.cursor() as cur:
            # Not binlogged: a replica must not own GTIDs the primary never had.
            cur.execute("SET SESSION sql_log_bin = 0")
            for host in ("localhost", "127.0.0.1"):
                cur.execute("ALTER USER 'root'@%s IDENTIFIED BY %s", (host, self.root_password))
        conn.close()

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def restart(self, skip_slave_start=False):
        self.stop()
        self.start(skip_slave_start=skip_slave_start)

    def connect(self, user="root", password=None, database=None):
        return pymysql.connect(host=self.host, port=self.port, user=user,
                               password=self.root_password if password is None else password,
                               database=database, autocommit=True, connect_timeout=5,
                               cursorclass=pymysql.cursors.DictCursor)

    def sql(self, statement, args=None, log_bin=True):
        """Run one statement as root; returns the rows (dicts)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                if not log_bin:
                    cur.execute("SET SESSION sql_log_bin = 0")
                cur.execute(statement, args)
                return list(cur.fetchall())
        finally:
            conn.close()

    def value(self, statement, args=None):
        rows = self.sql(statement, args)
        return list(rows[0].values())[0] if rows else None

    def replica_status(self):
        rows = self.sql("SHOW SLAVE STATUS")
        return rows[0] if rows else None

    def login(self):
        """Module login options for this server."""
        return {"login_host": self.host, "login_port": self.port, "login_user": "root",
                "login_password": self.root_password}

    def log_tail(self, lines=30):
        try:
            with open(self.error_log) as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no error log)"


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
    """A real ansible-playbook run without a cluster (see tests/integration/conftest.py)."""
    return run_playbook


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
