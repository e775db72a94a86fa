"""mysql_promote against three real MariaDB servers on 127.0.0.1: a switchover under a writer loses no
acknowledged row, a refused switchover changes nothing (and a timed-out one gives the writes back), a
failover after the primary's mariadbd was killed picks the most advanced replica, which the other replica
then follows.

Needs Debian's mariadb-server (mariadbd, mariadb-install-db); no cluster.
"""
import threading
import time

import pymysql
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.replication import run as replication_run

REPL_PASSWORD = "Repl-S3cret-pr0m"
WRITER_PASSWORD = "Wr1ter-pw-9x"


def names(servers):
    return ["db-%d" % index for index in range(len(servers))]


def members(servers):
    return [{"name": "db-%d" % index, "host": server.host, "port": server.port} for index, server in enumerate(servers)]


def make_replica(replica, source):
    """mysql_replication role=replica, through its module_utils (the role's repointing step)."""
    params = dict(replica.login(), login_unix_socket=None, config_file=None, connect_timeout=5, ca_cert=None,
                  client_cert=None, client_key=None, check_hostname=None, role="replica", replication_user="repl",
                  replication_password=REPL_PASSWORD, replication_user_host="%", update_password="always",
                  source_host=source.host, source_port=source.port, source_login_host=None, source_login_port=None,
                  source_login_user=None, source_login_password=None, wait=True, wait_timeout=60, read_only=True,
                  refresh_password=False)
    return replication_run(params, False, [])


def rows_on(server):
    return [row["v"] for row in server.sql("SELECT v FROM app.t ORDER BY id")]


@pytest.fixture
def promote(run_playbook):
    """Run one statefuldb.k8s.mysql_promote task; returns its result."""

    def _run(servers, check=False, diff=False, **options):
        options = dict({"members": members(servers), "login_password": servers[0].root_password}, **options)
        task = {"name": "mysql_promote", "statefuldb.k8s.mysql_promote": options, "ignore_errors": True}
        run = run_playbook([task], check=check, diff=diff)
        assert run.results, run.stdout + run.stderr
        return run.results[0]

    return _run


@pytest.fixture
def cluster(mariadb):
    """db-0 primary, db-1 and db-2 replicas (GTID, read-only), an app table and a non-root writer account."""
    servers = [mariadb("db-0", server_id=1), mariadb("db-1", server_id=2), mariadb("db-2", server_id=3)]
    primary = servers[0]
    primary.sql("CREATE USER 'repl'@'%%' IDENTIFIED BY %s", (REPL_PASSWORD,))
    primary.sql("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'")
    primary.sql("CREATE DATABASE app")
    primary.sql("CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))")
    primary.sql("CREATE USER 'writer'@'%%' IDENTIFIED BY %s", (WRITER_PASSWORD,))
    primary.sql("GRANT SELECT, INSERT ON app.* TO 'writer'@'%'")
    primary.sql("INSERT INTO app.t (v) VALUES ('seed')")
    for replica in servers[1:]:
        result = make_replica(replica, primary)
        assert result["caught_up"] is True, result
    return servers


class Writer(threading.Thread):
    """Inserts rows as the non-root account, like an application behind the primary Service: on an error it
    reconnects to whichever server is primary now. Only rows whose INSERT returned OK count as acknowledged."""

    def __init__(self, servers, primary_index=0):
        super().__init__(daemon=True)
        self.servers = servers
        self.primary = primary_index
        self.acknowledged = []
        self.refused = 0
        self.stop = threading.Event()

    def run(self):
        conn = None
        number = 0
        while not self.stop.is_set():
            number += 1
            value = "w-%d" % number
            try:
                if conn is None:
                    server = self.servers[self.primary]
                    conn = pymysql.connect(host=server.host, port=server.port, user="writer", password=WRITER_PASSWORD,
                                           autocommit=True, connect_timeout=2)
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO app.t (v) VALUES (%s)", (value,))
                self.acknowledged.append(value)
            except pymysql.err.MySQLError:
                self.refused += 1
                try:
                    if conn is not None:
                        conn.close()
                except Exception:
                    pass
                conn = None
                time.sleep(0.01)
            time.sleep(0.003)
        if conn is not None:
            conn.close()


def test_switchover_under_a_writer_loses_no_acknowledged_row(cluster, promote):
    old, new, other = cluster
    writer = Writer(cluster)
    writer.start()
    # A root transaction in flight on the old primary: read_only does not stop root on MariaDB; the module
    # ends the connection so it rolls back (it was never acknowledged).
    in_flight = old.connect()
    with in_flight.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO app.t (v) VALUES ('never-committed')")
    time.sleep(0.5)

    unused = promote(cluster, check=True, action="switchover", primary="db-0", target="db-1")
    assert unused["changed"] is True and old.value("SELECT @@read_only") == 0, "check mode changed something"

    result = promote(cluster, diff=True, action="switchover", primary="db-0", target="db-1", timeout=30)
    writer.primary = 1  # the Service follows the recorded primary
    time.sleep(0.5)
    writer.stop.set()
    writer.join(timeout=10)
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert (result["previous_primary"], result["primary"]) == ("db-0", "db-1")
    assert 0 <= result["write_unavailable_seconds"] < 10
    assert result["diff"]["after"] == {"primary": "db-1", "read_only": {"db-0": True, "db-1": False}}
    assert any("ended" in action and "client connection" in action for action in result["actions"]), result["actions"]

    # Every acknowledged row is on the new primary; the uncommitted one is nowhere.
    on_new = set(rows_on(new))
    assert writer.acknowledged, "the writer never wrote"
    assert [v for v in writer.acknowledged if v not in on_new] == []
    assert "never-committed" not in on_new and "never-committed" not in rows_on(old)
    with pytest.raises(pymysql.err.MySQLError):
        with in_flight.cursor() as cur:
            cur.execute("COMMIT")
    # The old primary is read-only and starts after its own writes when repointed.
    assert old.value("SELECT @@global.read_only") == 1
    assert old.value("SELECT @@global.gtid_slave_pos") == old.value("SELECT @@global.gtid_binlog_pos")
    assert result["gtid_position"] == old.value("SELECT @@global.gtid_binlog_pos")
    assert new.value("SELECT @@global.read_only") == 0 and new.replica_status() is None

    # What the role does next: repoint every other member at the new primary.
    for member in (old, other):
        repointed = make_replica(member, new)
        assert repointed["caught_up"] is True, repointed
    new.sql("INSERT INTO app.t (v) VALUES ('after-switchover')")
    for member in (old, other):
        deadline = time.monotonic() + 30
        while "after-switchover" not in rows_on(member):
            assert time.monotonic() < deadline, member.replica_status()
            time.sleep(0.1)
    assert set(rows_on(old)) == set(rows_on(new)) == set(rows_on(other))

    # Re-running the finished switchover is a no-op.
    again = promote(cluster, action="switchover", primary="db-1", target="db-1")
    assert again.get("failed") is not True and again["changed"] is False, again


def test_refused_switchover_changes_nothing(cluster, promote):
    old, target, unused = cluster
    target.sql("STOP SLAVE")
    before = old.value("SELECT @@global.gtid_binlog_pos")
    result = promote(cluster, action="switchover", primary="db-0", target="db-1")
    assert result["failed"] is True
    assert "target db-1 is not replicating (IO thread: No, SQL thread: No)" in result["msg"], result["msg"]
    assert result["actions"] == []
    writes = [q for q in result["queries"] if q.split()[2] in ("SET", "KILL", "STOP", "RESET", "START")]
    assert writes == []
    assert old.value("SELECT @@global.read_only") == 0
    assert old.value("SELECT @@global.gtid_binlog_pos") == before
    status = target.replica_status()
    assert (status["Slave_IO_Running"], status["Slave_SQL_Running"]) == ("No", "No")
    assert target.value("SELECT @@global.read_only") == 1


def test_switchover_that_times_out_gives_the_writes_back(cluster, promote):
    old, target, unused = cluster
    # The target's SQL thread blocks on a table lock: it replicates, but cannot apply the next row.
    lock = target.connect()
    with lock.cursor() as cur:
        cur.execute("LOCK TABLES app.t WRITE")
    old.sql("INSERT INTO app.t (v) VALUES ('blocked-on-target')")
    try:
        result = promote(cluster, action="switchover", primary="db-0", target="db-1", timeout=2, max_lag=600)
    finally:
        lock.close()
    assert result["failed"] is True
    assert "did not apply the primary's position" in result["msg"] and "db-0 is writable again" in result["msg"]
    assert old.value("SELECT @@global.read_only") == 0
    assert target.replica_status()["Slave_SQL_Running"] == "Yes"
    assert target.value("SELECT @@global.read_only") == 1
    old.sql("INSERT INTO app.t (v) VALUES ('after-refusal')")  # root could anyway; check the writer too
    conn = pymysql.connect(host=old.host, port=old.port, user="writer", password=WRITER_PASSWORD, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO app.t (v) VALUES ('writer-after-refusal')")
    conn.close()


def test_failover_after_the_primary_died_picks_the_most_advanced_replica(cluster, promote):
    old, behind, ahead = cluster
    # db-1 stops fetching; db-2 keeps receiving: db-2 is the most advanced although db-1 is listed first.
    behind.sql("STOP SLAVE IO_THREAD")
    for number in range(5):
        old.sql("INSERT INTO app.t (v) VALUES (%s)", ("late-%d" % number,))
    position = old.value("SELECT @@global.gtid_binlog_pos")
    deadline = time.monotonic() + 30
    while ahead.value("SELECT @@global.gtid_slave_pos") != position:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    old.process.kill()
    old.process.wait(timeout=30)

    # A member that does not answer: refused without force.
    check = promote(cluster, check=True, action="failover", primary="db-0")
    assert check.get("failed") is not True and check["primary"] == "db-2", check
    result = promote(cluster, action="failover", primary="db-0")
    assert result.get("failed") is not True, result
    assert (result["changed"], result["previous_primary"], result["primary"]) == (True, "db-0", "db-2")
    assert result["unreachable"] == ["db-0"]
    assert result["behind"]["db-0"] == "unreachable" and result["behind"]["db-1"] != ""
    assert result["may_have_lost"]["semi_sync"] == "off"
    assert "may be lost" in result["may_have_lost"]["warning"]
    assert ahead.value("SELECT @@global.read_only") == 0 and ahead.replica_status() is None
    assert "late-4" in rows_on(ahead)

    # The other replica follows the new primary (the role's next step) and gets every row.
    repointed = make_replica(behind, ahead)
    assert repointed["caught_up"] is True, repointed
    assert rows_on(behind) == rows_on(ahead)
    ahead.sql("INSERT INTO app.t (v) VALUES ('after-failover')")
    deadline = time.monotonic() + 30
    while "after-failover" not in rows_on(behind):
        assert time.monotonic() < deadline, behind.replica_status()
        time.sleep(0.1)


def test_failover_refuses_a_healthy_primary_and_an_unreachable_replica(cluster, promote):
    old, unused, gone = cluster
    result = promote(cluster, action="failover", primary="db-0")
    assert result["failed"] is True and "the primary db-0 is healthy" in result["msg"]
    gone.stop()
    old.process.kill()
    old.process.wait(timeout=30)
    result = promote(cluster, action="failover", primary="db-0", connect_timeout=2)
    assert result["failed"] is True
    assert "Cannot fail over while db-2 does not answer" in result["msg"], result["msg"]
    assert cluster[1].value("SELECT @@global.read_only") == 1 and cluster[1].replica_status() is not None
