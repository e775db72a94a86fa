"""role=replica against real MariaDB servers on 127.0.0.1: four runs, healing, refusals, secrets.

Needs Debian's mariadb-server (mariadbd, mariadb-install-db); no cluster.
"""
import time

import pytest

REPL_PASSWORD = "Repl-S3cret-zv27"


def add_replication_user(server, password=REPL_PASSWORD, log_bin=True):
    server.sql("CREATE USER 'repl'@'%%' IDENTIFIED BY %s", (password,), log_bin=log_bin)
    server.sql("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'", log_bin=log_bin)


def replica_options(replica, primary, **extra):
    options = dict(replica.login(), role="replica", source_host=primary.host, source_port=primary.port,
                   replication_user="repl", replication_password=REPL_PASSWORD, wait_timeout=60)
    options.update(extra)
    return options


def write_row(primary, value):
    primary.sql("CREATE DATABASE IF NOT EXISTS app")
    primary.sql("CREATE TABLE IF NOT EXISTS app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))")
    primary.sql("INSERT INTO app.t (v) VALUES (%s)", (value,))


def rows_on(server):
    if not server.sql("SHOW DATABASES LIKE 'app'"):
        return []
    return [row["v"] for row in server.sql("SELECT v FROM app.t ORDER BY id")]


def wait_for_row(server, value, timeout=30):
    """The replica applies asynchronously; poll the real table (test side only)."""
    deadline = time.monotonic() + timeout
    while value not in rows_on(server):
        assert time.monotonic() < deadline, "row %r never reached %s: %s" % (value, server.name, server.replica_status())
        time.sleep(0.2)


@pytest.fixture
def pair(mariadb):
    primary = mariadb("primary", server_id=1)
    replica = mariadb("replica", server_id=2)
    add_replication_user(primary)
    write_row(primary, "before-replication")
    return primary, replica


def test_replica_four_runs_replicate_and_never_restart_a_healthy_replica(pair, replication):
    primary, replica = pair
    options = replica_options(replica, primary)

    unused, check = replication(check=True, diff=True, **options)
    assert check.get("failed") is not True, check
    assert check["changed"] is True
    assert replica.replica_status() is None, "check mode must not configure replication"
    change = [q for q in check["queries"] if q.startswith("CHANGE MASTER TO")]
    assert change == ["CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='repl', "
                      "MASTER_PASSWORD='********', MASTER_USE_GTID=slave_pos" % primary.port]
    assert "START REPLICA" in check["queries"]
    assert check["diff"]["before"]["source_host"] is None
    assert check["diff"]["after"]["source_port"] == primary.port
    assert check["caught_up"] is None

    unused, real = replication(**options)
    assert real.get("failed") is not True, real
    assert real["changed"] is True
    assert real["actions"] == [
        "configured replication from 127.0.0.1:%d as repl with GTID auto-positioning" % primary.port,
        "started replication"]
    assert (real["io_running"], real["sql_running"], real["caught_up"]) == ("Yes", "Yes", True)
    assert real["seconds_behind_source"] == 0
    assert real["source_server_id"] == 1 and real["server_id"] == 2
    assert real["gtid_slave_pos"] == primary.value("SELECT @@gtid_binlog_pos")
    # Caught up means the data is there when the module returns.
    assert rows_on(replica) == ["before-replication"]
    status = replica.replica_status()
    assert (status["Slave_IO_Running"], status["Slave_SQL_Running"], status["Using_Gtid"]) == ("Yes", "Yes", "Slave_Pos")
    assert (status["Master_Host"], status["Master_Port"], status["Master_User"]) == ("127.0.0.1", primary.port, "repl")

    write_row(primary, "after-replication")
    wait_for_row(replica, "after-replication")

    relay_log = replica.replica_status()["Relay_Log_File"]
    unused, idem_check = replication(check=True, **options)
    assert idem_check["changed"] is False, idem_check
    unused, idem = replication(**options)
    assert idem["changed"] is False, idem
    assert idem["actions"] == []
    assert (idem["io_running"], idem["sql_running"], idem["caught_up"]) == ("Yes", "Yes", True)
    writes = [q for q in idem["queries"] if q.split()[0] in ("STOP", "START", "CHANGE", "RESET", "SET")]
    assert writes == [], "a healthy replica must not be touched: %s" % writes
    # A STOP/START would have rotated the relay log.
    assert replica.replica_status()["Relay_Log_File"] == relay_log


def test_replica_heals_a_stopped_sql_thread(pair, replication):
    primary, replica = pair
    options = replica_options(replica, primary)
    assert replication(**options)[1]["changed"] is True
    replica.sql("STOP SLAVE SQL_THREAD")
    write_row(primary, "while-stopped")

    unused, check = replication(check=True, **options)
    assert check["changed"] is True
    assert replica.replica_status()["Slave_SQL_Running"] == "No", "check mode must not start the thread"

    unused, healed = replication(**options)
    assert healed["changed"] is True, healed
    assert healed["actions"] == ["started replication: SQL thread was stopped"]
    assert (healed["io_running"], healed["sql_running"], healed["caught_up"]) == ("Yes", "Yes", True)
    assert "while-stopped" in rows_on(replica)

    assert replication(check=True, **options)[1]["changed"] is False
    assert replication(**options)[1]["changed"] is False


def test_replica_heals_after_a_server_restart_without_replication(pair, replication):
    primary, replica = pair
    options = replica_options(replica, primary)
    assert replication(**options)[1]["changed"] is True
    replica.restart(skip_slave_start=True)
    write_row(primary, "while-down")
    status = replica.replica_status()
    assert (status["Slave_IO_Running"], status["Slave_SQL_Running"]) == ("No", "No")

    unused, healed = replication(**options)
    assert healed["changed"] is True, healed
    assert healed["actions"] == ["started replication: IO thread was stopped; SQL thread was stopped"]
    assert "while-down" in rows_on(replica)
    assert replication(**options)[1]["changed"] is False


def test_replica_takes_the_new_password_after_the_primary_changed_it(pair, replication):
    primary, replica = pair
    assert replication(**replica_options(replica, primary))[1]["changed"] is True
    new_password = "Repl-N3w-pw-77"
    unused, rotated = replication(role="primary", replication_user="repl", replication_password=new_password,
                                  **primary.login())
    assert rotated["actions"] == ["set the password of repl@% (the given replication_password did not work)"]
    # The running IO thread keeps its session; a reconnect fails with the old password.
    replica.sql("STOP SLAVE")
    replica.sql("START SLAVE")
    deadline = time.monotonic() + 30
    while replica.replica_status()["Last_IO_Errno"] != 1045:
        assert time.monotonic() < deadline, replica.replica_status()
        time.sleep(0.2)

    options = replica_options(replica, primary, replication_password=new_password)
    unused, healed = replication(**options)
    assert healed["changed"] is True, healed
    assert len(healed["actions"]) == 3, healed["actions"]
    assert healed["actions"][1].startswith("re-configured replication: the replication user could not log in")
    assert healed["io_running"] == "Yes" and healed["caught_up"] is True
    assert new_password not in str(healed)
    assert replication(**options)[1]["changed"] is False


def test_replica_pointed_at_itself_is_refused(mariadb, replication):
    replica = mariadb("replica", server_id=2)
    add_replication_user(replica, log_bin=False)
    unused, result = replication(**replica_options(replica, replica))
    assert result["failed"] is True
    assert "is this server itself" in result["msg"]
    assert replica.replica_status() is None


def test_equal_server_ids_are_refused(mariadb, replication):
    primary = mariadb("primary", server_id=7)
    replica = mariadb("replica", server_id=7)
    add_replication_user(primary)
    unused, result = replication(**replica_options(replica, primary))
    assert result["failed"] is True
    assert "both have server_id 7" in result["msg"]
    assert replica.replica_status() is None


def test_errant_transactions_are_refused(pair, replication):
    primary, replica = pair
    replica.sql("CREATE DATABASE local_only")  # binlogged on the replica with its own server_id 2
    errant = replica.value("SELECT @@gtid_binlog_pos")
    unused, result = replication(**replica_options(replica, primary))
    assert result["failed"] is True
    assert "errant GTIDs: %s" % errant in result["msg"], result["msg"]
    assert result["errant_gtids"] == errant
    assert replica.replica_status() is None


def test_source_without_binary_log_is_refused(mariadb, replication):
    primary = mariadb("nobinlog", server_id=1, log_bin=False)
    replica = mariadb("replica", server_id=2)
    add_replication_user(primary)
    unused, result = replication(**replica_options(replica, primary))
    assert result["failed"] is True
    assert "cannot be a replication source: binary logging is off" in result["msg"]
    assert replica.replica_status() is None


def test_wrong_replication_password_is_refused(pair, replication):
    primary, replica = pair
    unused, result = replication(**replica_options(replica, primary, replication_password="not-the-password"))
    assert result["failed"] is True
    assert result["msg"].startswith("Access denied for user 'repl' at 127.0.0.1:%d (the source" % primary.port)
    assert "not-the-password" not in str(result)
    assert replica.replica_status() is None


def test_wrong_login_password_is_refused(pair, replication):
    primary, replica = pair
    options = replica_options(replica, primary, login_password="wrong-root-pw")
    unused, result = replication(**options)
    assert result["failed"] is True
    assert result["msg"].startswith("Access denied for user 'root' at 127.0.0.1:%d" % replica.port)


def test_unreachable_source_is_named(pair, replication, closed_port):
    primary, replica = pair
    closed = closed_port
    unused, result = replication(**replica_options(replica, primary, source_port=closed))
    assert result["failed"] is True
    assert "Cannot reach the source (as replication_user repl) at 127.0.0.1:%d" % closed in result["msg"]
    assert replica.replica_status() is None


def test_password_never_in_verbose_output(pair, run_playbook):
    primary, replica = pair
    options = replica_options(replica, primary)
    task = {"name": "replica", "statefuldb.k8s.mysql_replication": options}
    run = run_playbook([task], verbosity=3, json_output=False)
    assert run.rc == 0, run.stdout[-3000:]
    assert "CHANGE MASTER TO" in run.stdout and "MASTER_PASSWORD='********'" in run.stdout
    assert REPL_PASSWORD not in run.stdout + run.stderr
    assert replica.root_password not in run.stdout + run.stderr


def test_a_replica_whose_sql_thread_keeps_failing_is_reported_not_skipped(pair, replication):
    primary, replica = pair
    options = replica_options(replica, primary)
    assert replication(**options)[1]["changed"] is True
    # A row only the replica has (not binlogged, so not errant), then the primary writes the same key.
    replica.sql("INSERT INTO app.t (id, v) VALUES (100, 'replica-only')", log_bin=False)
    primary.sql("INSERT INTO app.t (id, v) VALUES (100, 'primary')")
    deadline = time.monotonic() + 30
    while replica.replica_status()["Slave_SQL_Running"] != "No":
        assert time.monotonic() < deadline, replica.replica_status()
        time.sleep(0.2)

    unused, result = replication(**options)
    assert result["failed"] is True
    assert result["changed"] is True  # it did try START REPLICA
    assert result["actions"][0].startswith("started replication: SQL thread was stopped (error 1062")
    assert "SQL thread stopped with error 1062" in result["msg"] and "does not skip" in result["msg"]
    # Nothing was skipped: the conflicting row is still the replica's own.
    assert replica.value("SELECT v FROM app.t WHERE id = 100") == "replica-only"
    assert replica.replica_status()["Slave_SQL_Running"] == "No"


def test_source_checks_with_a_separate_login(mariadb, replication):
    primary = mariadb("primary", server_id=1)
    replica = mariadb("replica", server_id=2)
    # On a real network replication_user_host would exclude the Ansible host; on loopback both
    # connect from 127.0.0.1, so this shows the checks run as source_login_user instead.
    primary.sql("CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY %s", (REPL_PASSWORD,))
    primary.sql("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'127.0.0.1'")
    options = replica_options(replica, primary, source_login_user="root",
                              source_login_password=primary.root_password)
    unused, result = replication(**options)
    assert result.get("failed") is not True, result
    assert result["caught_up"] is True
    assert any(q.startswith("/* source 127.0.0.1:%d */ SELECT VERSION()" % primary.port) for q in result["queries"])
    assert primary.root_password not in str(result)

    # Wrong replication password: the pre-check cannot see it, the replica's IO thread does.
    replica.sql("STOP SLAVE")
    replica.sql("RESET SLAVE ALL")
    unused, wrong = replication(**dict(options, replication_password="wrong-repl-pw"))
    assert wrong["failed"] is True and wrong["changed"] is True
    assert "IO thread cannot replicate from the source" in wrong["msg"] and "1045" in wrong["msg"]


def test_wait_false_configures_without_waiting(pair, replication):
    primary, replica = pair
    unused, result = replication(**replica_options(replica, primary, wait=False, read_only=True))
    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["actions"][-1] == "set read_only to ON"
    assert result["caught_up"] in (True, False)
    assert replica.value("SELECT @@GLOBAL.read_only") == 1
    write_row(primary, "no-wait")
    wait_for_row(replica, "no-wait")


def test_primary_role_on_a_replica_warns_and_leaves_replication_alone(pair, replication):
    primary, replica = pair
    assert replication(**replica_options(replica, primary))[1]["changed"] is True
    unused, result = replication(role="primary", **replica.login())
    assert result["changed"] is False
    assert any("is itself configured as a replica of 127.0.0.1:%d" % primary.port in w for w in result["warnings"])
    assert replica.replica_status()["Slave_SQL_Running"] == "Yes"


def test_repoint_to_a_promoted_replica_after_failover(mariadb, replication):
    old_primary = mariadb("primary", server_id=1)
    promoted = mariadb("replica-1", server_id=2)
    follower = mariadb("replica-2", server_id=3)
    add_replication_user(old_primary)
    write_row(old_primary, "from-old-primary")
    for server in (promoted, follower):
        assert replication(**replica_options(server, old_primary))[1]["caught_up"] is True

    # Failover: the old primary goes away, replica-1 is promoted (its replication stopped).
    old_primary.stop()
    promoted.sql("STOP SLAVE")

    options = replica_options(follower, promoted)
    unused, check = replication(check=True, **options)
    assert check["changed"] is True
    assert follower.replica_status()["Master_Port"] == old_primary.port, "check mode must not re-point"

    unused, moved = replication(**options)
    assert moved.get("failed") is not True, moved
    assert moved["actions"][0] == "stopped replication to change its source"
    assert moved["actions"][1] == ("re-configured replication: source was 127.0.0.1:%d, now 127.0.0.1:%d"
                                   % (old_primary.port, promoted.port))
    assert moved["caught_up"] is True and moved["source_server_id"] == 2
    status = follower.replica_status()
    assert (status["Master_Port"], status["Slave_IO_Running"], status["Slave_SQL_Running"]) == (promoted.port, "Yes", "Yes")
    write_row(promoted, "from-new-primary")
    wait_for_row(follower, "from-new-primary")
    assert rows_on(follower) == ["from-old-primary", "from-new-primary"]

    assert replication(check=True, **options)[1]["changed"] is False
    assert replication(**options)[1]["changed"] is False


def test_rotated_password_reaches_a_healthy_replica_in_the_same_run(pair, replication):
    """The primary task changes the replication password (password_changed); the replica task with
    refresh_password gives the healthy replica the new one at once, without a reset: it keeps its
    position and replicates after a reconnect, which with the old password would fail."""
    primary, replica = pair
    unused, first = replication(**replica_options(replica, primary))
    assert first["changed"] is True and first["caught_up"] is True, first
    write_row(primary, "before-rotation")
    wait_for_row(replica, "before-rotation")

    new_password = "Repl-R0tated-9fq"
    primary_options = dict(primary.login(), role="primary", replication_user="repl",
                           replication_password=new_password)
    unused, rotated = replication(**primary_options)
    assert rotated["changed"] is True and rotated["password_changed"] is True, rotated
    unused, again = replication(**primary_options)
    assert again["changed"] is False and again["password_changed"] is False, again

    position = replica.value("SELECT @@gtid_slave_pos")
    options = replica_options(replica, primary, replication_password=new_password, refresh_password=True)
    unused, check = replication(check=True, **options)
    assert check["changed"] is True, check
    unused, refreshed = replication(**options)
    assert refreshed.get("failed") is not True, refreshed
    assert refreshed["changed"] is True
    assert refreshed["actions"] == ["set the new replication password of repl (refresh_password): stopped and "
                                    "started again at its position"]
    assert [q for q in refreshed["queries"] if q.split()[0] in ("STOP", "CHANGE", "START", "RESET")] == [
        "STOP REPLICA", "CHANGE MASTER TO MASTER_PASSWORD='********'", "START REPLICA"]
    assert new_password not in str(refreshed)
    status = replica.replica_status()
    assert (status["Slave_IO_Running"], status["Slave_SQL_Running"], status["Using_Gtid"]) == ("Yes", "Yes", "Slave_Pos")
    assert status["Master_Port"] == primary.port
    # Never reset: the position only moved forward from where it was.
    assert replica.value("SELECT @@gtid_slave_pos").split("-")[:2] == position.split("-")[:2]
    assert int(replica.value("SELECT @@gtid_slave_pos").split("-")[2]) >= int(position.split("-")[2])

    # A reconnect now logs in with the new password.
    replica.sql("STOP SLAVE")
    replica.sql("START SLAVE")
    write_row(primary, "after-rotation")
    wait_for_row(replica, "after-rotation")
    assert rows_on(replica) == ["before-replication", "before-rotation", "after-rotation"]

    # Without a new rotation the replica is left alone again.
    unused, idem = replication(**replica_options(replica, primary, replication_password=new_password))
    assert idem["changed"] is False, idem
