"""The pods' scripts (roles/mysql_cluster/files/init-datadir.sh, start-server.sh) run on this host's
MariaDB, no cluster.

They replace an image's entrypoint, so their promises are checked directly: a first start
initialises the data directory and sets the root password (any characters) without writing a
GTID; a restart with data changes nothing and keeps the member's server_id; the configuration
follows the recorded primary, not the ordinal; a member initialised after the cluster was
bootstrapped starts read-only with a new server_id, even as the recorded primary; an interrupted
initialisation is redone; an image of the other flavor is refused by name. The pods run them for
real in test_e2e.py and test_primary_role.py.
"""
import os
import pathlib
import shutil
import stat
import subprocess
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(REPO, "roles", "mysql_cluster", "files", "init-datadir.sh")
START = os.path.join(REPO, "roles", "mysql_cluster", "files", "start-server.sh")
PASSWORD = "p'a\"s\\s w$rd`x`"  # quotes, backslash, space, shell metacharacters


@pytest.fixture(autouse=True)
def _server_and_root():
    """`make test` installs Debian's mariadb-server and runs as root (the init container does): without
    them this test fails rather than skip, so a missing install step cannot pass unnoticed."""
    assert shutil.which("mariadbd") and shutil.which("mariadb-install-db"), "needs Debian's mariadb-server (make system-deps)"
    assert os.geteuid() == 0, "needs root, as the init container runs"


@pytest.fixture
def pod():
    """The init container's mounts, as directories (outside pytest's root-only tmp: user mysql reads them)."""
    top = pathlib.Path(tempfile.mkdtemp(prefix="statefuldb-init-"))
    os.chmod(top, 0o755)
    dirs = {name: top / name for name in ("cm", "conf", "login", "run", "claim", "topology")}
    for path in dirs.values():
        path.mkdir()
    os.chmod(dirs["claim"], 0o700)  # like a fresh volume's root: the script hands it to mysql
    (dirs["cm"] / "server-id-base").write_text("100")
    (dirs["cm"] / "primary.cnf").write_text("[mysqld]\nread_only = OFF\n")
    (dirs["cm"] / "replica.cnf").write_text("[mysqld]\nread_only = ON\n")
    yield dirs
    shutil.rmtree(top)


def start_config(pod, hostname):
    """start-server.sh up to the server: `true` stands in for it, so only the configuration is written."""
    env = dict(os.environ, HOSTNAME=hostname, CONFIG_MAP=str(pod["cm"]), CONF_DIR=str(pod["conf"]),
               CLAIM=str(pod["claim"]), TOPOLOGY=str(pod["topology"]), DB_SERVER="true")
    run = subprocess.run(["sh", START], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    return run.stderr, (pod["conf"] / "server.cnf").read_text()


def init(pod, hostname="db-1", flavor="mariadb", server="mariadbd"):
    env = dict(os.environ, HOSTNAME=hostname, CONFIG_MAP=str(pod["cm"]), CONF_DIR=str(pod["conf"]),
               TOPOLOGY=str(pod["topology"]),
               LOGIN_DIR=str(pod["login"]), RUN_DIR=str(pod["run"]), CLAIM=str(pod["claim"]),
               DB_FLAVOR=flavor, DB_SERVER=server, DB_CLIENT="mariadb", DB_BOOT_OPTIONS="",
               DB_INSTALL="mariadb-install-db --no-defaults --user=mysql --auth-root-authentication-method=normal"
                          " --skip-test-db --skip-name-resolve",
               ROOT_PASSWORD=PASSWORD)
    return subprocess.run(["sh", SCRIPT], env=env, capture_output=True, text=True, timeout=180, check=False)


class Server:
    """The main container: the server on the written configuration (plus the binary log), no network."""

    def __init__(self, pod):
        self.pod = pod
        extra = pod["conf"] / "main.cnf"
        extra.write_text((pod["conf"] / "server.cnf").read_text() + "\n".join([
            "user = mysql", "datadir = %s/data" % pod["claim"], "socket = %s/mysqld.sock" % pod["run"],
            "skip_networking = ON", "log_bin = mysql-bin", ""]))
        self.proc = subprocess.Popen(["mariadbd", "--defaults-file=%s" % extra], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for dummy in range(100):
            if self.sql("SELECT 1", check=False).returncode == 0:
                return
            subprocess.run(["sleep", "0.1"], check=True)
        raise AssertionError("the server did not start on the initialised data directory")

    def sql(self, query, check=True):
        # The probes' login: the option file the init container wrote.
        return subprocess.run(["mariadb", "--defaults-file=%s" % (self.pod["login"] / "client.cnf"), "-N", "-e", query],
                              capture_output=True, text=True, check=check, timeout=30)

    def stop(self):
        self.sql("SHUTDOWN")
        self.proc.wait(timeout=60)


def test_first_start_initialises_with_the_secret_password_and_no_gtid(pod):
    run = init(pod)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "initialised: server_id 101, root password set from the Secret" in run.stderr
    assert PASSWORD not in run.stderr + run.stdout
    assert (pod["claim"] / "statefuldb-server-id").read_text() == "101\n"
    # No record yet (first deploy): ordinal 0 is the primary, db-1 a read-only replica.
    said, conf = start_config(pod, "db-1")
    assert conf == "[mysqld]\nread_only = ON\nserver_id = 101\n"
    assert "db-1 as replica (recorded primary: db-0)" in said
    login = pod["login"] / "client.cnf"
    assert stat.S_IMODE(login.stat().st_mode) == 0o600
    data = pod["claim"] / "data"
    assert data.stat().st_uid == int(subprocess.check_output(["id", "-u", "mysql"]))
    assert not (pod["claim"] / "data.initialising").exists()

    server = Server(pod)
    try:
        accounts = server.sql("SELECT CONCAT(user, '@', host) FROM mysql.user ORDER BY 1").stdout.split()
        assert [a for a in accounts if not a.startswith("mariadb.sys")] == ["root@%", "root@localhost"]
        # Nothing the initialisation did is in the binary log: replicas start with no GTID of their own.
        assert server.sql("SELECT @@gtid_binlog_pos, @@server_id").stdout.split() == ["101"]
        server.sql("CREATE DATABASE app")
        server.sql("CREATE TABLE app.t (v INT) ENGINE=InnoDB")
        server.sql("INSERT INTO app.t VALUES (42)")
    finally:
        server.stop()

    # A restart (new pod, same claim) keeps the data, initialises nothing and keeps the server_id;
    # once db-1 is the recorded primary it starts writable, and db-0 read-only.
    again = init(pod, hostname="db-1")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "data directory exists: server_id 101; nothing to initialise" in again.stderr
    (pod["topology"] / "primary").write_text("db-1")
    (pod["topology"] / "bootstrapped").write_text("true")
    assert start_config(pod, "db-1")[1] == "[mysqld]\nread_only = OFF\nserver_id = 101\n"
    assert start_config(pod, "db-0")[1] == "[mysqld]\nread_only = ON\nserver_id = 101\n"
    start_config(pod, "db-1")
    server = Server(pod)
    try:
        assert server.sql("SELECT v FROM app.t").stdout.split() == ["42"]
    finally:
        server.stop()


def test_an_interrupted_initialisation_is_redone(pod):
    leftover = pod["claim"] / "data.initialising"
    leftover.mkdir()
    (leftover / "ibdata1").write_text("half-written")
    run = init(pod)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (pod["claim"] / "data" / "mysql").is_dir() and not leftover.exists()


def test_a_data_directory_without_system_tables_is_left_alone(pod):
    (pod["claim"] / "data").mkdir()
    (pod["claim"] / "data" / "something").write_text("not ours")
    run = init(pod)
    assert run.returncode == 1
    assert "holds no system tables; not touching it" in run.stderr
    assert (pod["claim"] / "data" / "something").read_text() == "not ours"


def test_an_image_of_the_other_flavor_is_refused(pod):
    run = init(pod, flavor="mysql", server="mariadbd")
    assert run.returncode == 1
    assert "the image runs mariadb" in run.stderr and "set mysql_cluster_flavor=mariadb" in run.stderr
    run = init(pod, server="no-such-server")
    assert run.returncode == 1 and "the image has no no-such-server" in run.stderr
    assert not (pod["claim"] / "data").exists()


def test_a_member_initialised_after_bootstrap_starts_read_only_with_a_new_server_id(pod):
    """The recorded primary lost its volume: the new, empty data directory must not take writes."""
    (pod["topology"] / "primary").write_text("db-0")
    (pod["topology"] / "bootstrapped").write_text("true")
    run = init(pod, hostname="db-0")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "starts empty and read-only" in run.stderr
    server_id = int((pod["claim"] / "statefuldb-server-id").read_text())
    assert server_id >= 1000000, "an id never used by the members of the first deploy (base + ordinal)"
    said, conf = start_config(pod, "db-0")
    assert conf == "[mysqld]\nread_only = ON\nserver_id = %d\n" % server_id
    assert "db-0 as replica (recorded primary: db-0)" in said
    # The next start of the same claim keeps that identity.
    again = init(pod, hostname="db-0")
    assert "data directory exists: server_id %d" % server_id in again.stderr


def test_a_prepared_copy_is_put_in_place_and_starts_at_its_gtid_position(pod, tmp_path_factory):
    """pod_seed.py leaves a prepared mariadb-backup copy in $CLAIM/data.seeded; the next start of the
    server container puts it in place of the empty data directory and starts it at the copy's GTID
    position (binlog state and slave position), once: a later restart keeps what it wrote since."""
    assert shutil.which("mariadb-backup") and shutil.which("mbstream"), "needs Debian's mariadb-backup (make system-deps)"
    donor = {name: pathlib.Path(tempfile.mkdtemp(prefix="statefuldb-donor-%s-" % name)) for name in ("claim", "run", "login", "conf")}
    donor.update(cm=pod["cm"], topology=pod["topology"])
    for path in donor.values():
        os.chmod(path, 0o755)
    try:
        assert init(donor, hostname="db-0").returncode == 0
        start_config(donor, "db-0")
        source = Server(donor)
        source.sql("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1), (2), (3)")
        position = source.sql("SELECT @@gtid_binlog_pos").stdout.strip()
        seeding = pod["claim"] / "data.seeding"
        seeding.mkdir()
        backup = subprocess.run(
            "mariadb-backup --defaults-file=%s --backup --stream=mbstream --datadir=%s/data | (cd %s && mbstream -x)"
            % (donor["login"] / "client.cnf", donor["claim"], seeding), shell=True, capture_output=True, text=True,
            timeout=120, check=False)
        source.stop()
        assert "completed OK!" in backup.stderr, backup.stderr[-2000:]
        subprocess.run(["mariadb-backup", "--prepare", "--target-dir=%s" % seeding], capture_output=True, check=True)
        subprocess.run(["chown", "-R", "mysql:mysql", str(seeding)], check=True)
        seeding.rename(pod["claim"] / "data.seeded")

        (pod["topology"] / "primary").write_text("db-0")
        (pod["topology"] / "bootstrapped").write_text("true")
        assert init(pod, hostname="db-1").returncode == 0  # a new member: empty, read-only
        assert (pod["conf"] / "initialised-empty").exists()
        said, conf = start_config(pod, "db-1")
        assert "seeded from a copy at GTID position %s" % position in said
        assert "init_file = %s/seed.sql" % pod["conf"] in conf
        assert not (pod["conf"] / "initialised-empty").exists(), "it holds the cluster's data now"
        assert not (pod["claim"] / "data.seeded").exists()
        member = Server(pod)
        try:
            assert member.sql("SELECT COUNT(*) FROM app.t").stdout.strip() == "3"
            state = member.sql("SELECT @@gtid_binlog_pos, @@gtid_slave_pos").stdout.split()
            assert state == [position, position]
        finally:
            member.stop()
        conf = start_config(pod, "db-1")[1]
        assert "init_file" not in conf, "the copy's position is applied once, never over later writes"
    finally:
        for key in ("claim", "run", "login", "conf"):
            shutil.rmtree(donor[key], ignore_errors=True)
