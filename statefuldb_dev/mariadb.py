"""Throwaway MariaDB servers on loopback: a real ``mariadbd`` (Debian's mariadb-server, see
tools/system-deps.sh) with its own datadir, listening on 127.0.0.1 at a free port, with a root
password, its own server_id, binary log and GTIDs. The system service is never used or touched.

Used by the mysql_replication integration tests (tests/integration/mysql) and the bad-input
corpus's canary server (tests/integration/bad_input).
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import time

import pymysql


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
