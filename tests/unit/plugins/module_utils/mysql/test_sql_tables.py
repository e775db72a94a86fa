"""The per-flavor SQL tables and how statements render in `queries` (passwords masked)."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import from_strings
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.implementations import mariadb, mysql
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.replica import change_source_statement
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import SqlSession, Statement

SPEC = {"source_host": "db-0.db.ns.svc.cluster.local", "source_port": 3306, "replication_user": "repl",
        "replication_password": "it's-secret"}
ALL_TABLES = [t for unused, t in mariadb.VERSIONS] + [t for unused, t in mysql.VERSIONS]


@pytest.mark.parametrize("version, comment, expected", [
    ("10.11.6-MariaDB", "", "CHANGE MASTER TO MASTER_HOST='db-0.db.ns.svc.cluster.local', MASTER_PORT=3306, "
                            "MASTER_USER='repl', MASTER_PASSWORD='********', MASTER_USE_GTID=slave_pos"),
    ("8.0.36", "MySQL", "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db-0.db.ns.svc.cluster.local', SOURCE_PORT=3306, "
                        "SOURCE_USER='repl', SOURCE_PASSWORD='********', SOURCE_AUTO_POSITION=1, "
                        "GET_SOURCE_PUBLIC_KEY=1"),
    ("8.4.3", "MySQL", "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db-0.db.ns.svc.cluster.local', SOURCE_PORT=3306, "
                       "SOURCE_USER='repl', SOURCE_PASSWORD='********', SOURCE_AUTO_POSITION=1, "
                       "GET_SOURCE_PUBLIC_KEY=1"),
])
def test_change_source_renders_masked_and_sends_the_real_password(version, comment, expected):
    statement = change_source_statement(from_strings(version, comment), SPEC)
    assert statement.masked() == expected
    assert statement.args[3] == "it's-secret"
    assert "it's-secret" not in repr(statement)


@pytest.mark.parametrize("version, status, start, stop, binlog", [
    ("10.4.32-MariaDB", "SHOW SLAVE STATUS", "START SLAVE", "STOP SLAVE", "SHOW MASTER STATUS"),
    ("10.5.1-MariaDB", "SHOW REPLICA STATUS", "START REPLICA", "STOP REPLICA", "SHOW MASTER STATUS"),
    ("10.11.6-MariaDB", "SHOW REPLICA STATUS", "START REPLICA", "STOP REPLICA", "SHOW BINLOG STATUS"),
    ("8.0.23", "SHOW REPLICA STATUS", "START REPLICA", "STOP REPLICA", "SHOW MASTER STATUS"),
    ("8.4.0", "SHOW REPLICA STATUS", "START REPLICA", "STOP REPLICA", "SHOW BINARY LOG STATUS"),
])
def test_statements_per_version(version, status, start, stop, binlog):
    flavor = from_strings(version, "MySQL" if version.startswith("8") else "")
    assert (flavor.statement("replica_status"), flavor.statement("start_replica"),
            flavor.statement("stop_replica"), flavor.statement("binlog_status")) == (status, start, stop, binlog)


def test_mysql_84_table_uses_none_of_the_removed_statements():
    table = from_strings("8.4.0", "MySQL Community Server - GPL").table
    text = " ".join(str(value) for value in table.values() if isinstance(value, str))
    for removed in ("CHANGE MASTER", "SHOW SLAVE STATUS", "START SLAVE", "STOP SLAVE", "SHOW MASTER STATUS",
                    "MASTER_"):
        assert removed not in text
    # The privilege kept its name in 8.4.
    assert table["grant_privileges"] == "REPLICATION SLAVE, REPLICATION CLIENT"


def test_mariadb_shows_replication_client_as_binlog_monitor_from_10_5_2():
    assert from_strings("10.5.1-MariaDB", "").statement("shown_privileges") == {"REPLICATION SLAVE", "REPLICATION CLIENT"}
    assert from_strings("10.5.2-MariaDB", "").statement("shown_privileges") == {"REPLICATION SLAVE", "BINLOG MONITOR"}


@pytest.mark.parametrize("table", ALL_TABLES)
def test_every_table_has_every_key_with_matching_placeholders(table):
    assert set(table) == set(mariadb.MARIADB_10_0)
    assert table["change_source"].count("%s") == 4
    assert table["wait_for_gtid"].count("%s") == 2
    assert set(table["status_columns"]) == set(mariadb.MARIADB_10_0["status_columns"])


def test_statement_quotes_literals_and_checks_argument_count():
    statement = Statement("CREATE USER %s@%s IDENTIFIED BY %s", ("o'neil", "10.%", "pw"), secret=[2])
    assert statement.masked() == "CREATE USER 'o\\'neil'@'10.%' IDENTIFIED BY '********'"
    with pytest.raises(ValueError):
        Statement("SELECT %s", ())


class _Connection:
    def __init__(self):
        self.sent = []

    def cursor(self):
        connection = self

        class _Cursor:
            description = None

            def execute(self, sql, args=None):
                connection.sent.append((sql, args))

            def fetchall(self):
                return []

            def close(self):
                pass

        return _Cursor()


def test_check_mode_session_runs_reads_and_only_records_writes():
    connection = _Connection()
    queries = []
    session = SqlSession(connection, queries, check_mode=True, label="source db-0:3306")
    session.rows("SHOW REPLICA STATUS")
    assert session.write(Statement("ALTER USER %s@%s IDENTIFIED BY %s", ("repl", "%", "pw"), secret=[2])) is False
    assert connection.sent == [("SHOW REPLICA STATUS", None)]
    assert queries == ["/* source db-0:3306 */ SHOW REPLICA STATUS",
                       "/* source db-0:3306 */ ALTER USER 'repl'@'%' IDENTIFIED BY '********'"]


def test_driver_errors_become_readable_failures_with_the_masked_statement():
    class _Denied(_Connection):
        def cursor(self):
            cursor = super().cursor()

            def execute(sql, args=None):
                raise RuntimeError(1227, "Access denied; you need (at least one of) the SUPER privilege(s) near 'pw'")

            cursor.execute = execute
            return cursor

    session = SqlSession(_Denied(), [], address="db-0:3306")
    with pytest.raises(MySQLReplicationError) as caught:
        session.write(Statement("ALTER USER %s@%s IDENTIFIED BY %s", ("repl", "%", "pw"), secret=[2]))
    assert caught.value.msg == ("ALTER USER 'repl'@'%' IDENTIFIED BY '********' failed on db-0:3306: (1227) "
                                "Access denied; you need (at least one of) the SUPER privilege(s) near '********'")
    assert caught.value.details["error_code"] == 1227
