"""The replication account: privileges parsing, offline password check, what gets written."""
import pytest
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.mysql.mysql_fakes import FakeServer, mariadb_variables

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import from_strings
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.grants import (
    ensure_replication_user,
    native_password_hash,
    parse_grants,
    password_works,
)

MARIADB = from_strings("10.11.6-MariaDB-log", "Debian 12")
MYSQL84 = from_strings("8.4.3", "MySQL Community Server - GPL")


def test_native_password_hash_matches_the_server():
    # SELECT PASSWORD('x') on MariaDB 10.11.
    assert native_password_hash("x") == "*B69027D44F6E5EDC07F1AEAD1477967B16F28227"


def test_parse_grants():
    held, other = parse_grants([
        "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `repl`@`%` IDENTIFIED BY PASSWORD '*AB'",
        "GRANT SELECT ON `app`.* TO `repl`@`%`",
    ])
    assert held == {"REPLICATION SLAVE", "BINLOG MONITOR"}
    assert other == ["GRANT SELECT ON `app`.* TO `repl`@`%`"]
    assert parse_grants(["GRANT USAGE ON *.* TO `repl`@`%`"]) == (set(), [])
    held, other = parse_grants(["GRANT REPLICATION SLAVE ON *.* TO `r`@`%` WITH GRANT OPTION"])
    assert held == {"REPLICATION SLAVE"} and other == ["WITH GRANT OPTION"]
    # MySQL lists dynamic privileges on their own line.
    held, unused = parse_grants(["GRANT REPLICATION SLAVE ON *.* TO `r`@`%`", "GRANT REPLICATION_APPLIER ON *.* TO `r`@`%`"])
    assert held == {"REPLICATION SLAVE", "REPLICATION_APPLIER"}


def _never_login():
    raise AssertionError("native passwords are compared offline, no login expected")


def test_password_check_native_offline_and_others_by_login():
    row = {"plugin": "mysql_native_password", "authentication_string": native_password_hash("pw")}
    assert password_works(row, "pw", _never_login) is True
    assert password_works(row, "other", _never_login) is False
    sha2 = {"plugin": "caching_sha2_password", "authentication_string": "$A$005$salt..."}
    assert password_works(sha2, "pw", lambda: True) is True
    assert password_works(sha2, "pw", lambda: False) is False


def _server(**kwargs):
    return FakeServer(variables=mariadb_variables(), **kwargs)


def test_creates_missing_user_masked(session_for):
    server = _server()
    queries = []
    actions, warnings, diff = ensure_replication_user(session_for(server, queries=queries), MARIADB, "repl", "%",
                                                      "pw", "always", _never_login)
    assert actions == ["created replication user repl@% with REPLICATION SLAVE, REPLICATION CLIENT"]
    assert server.writes() == ["CREATE USER %s@%s IDENTIFIED BY %s", "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO %s@%s"]
    assert "CREATE USER 'repl'@'%' IDENTIFIED BY '********'" in queries
    assert diff["before"]["exists"] is False and diff["after"]["exists"] is True


def test_correct_user_is_left_alone(session_for):
    server = _server(user_row={"plugin": "mysql_native_password", "authentication_string": native_password_hash("pw")},
                     grants=["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `repl`@`%` IDENTIFIED BY PASSWORD '*X'"])
    actions, warnings, unused = ensure_replication_user(session_for(server), MARIADB, "repl", "%", "pw", "always", _never_login)
    assert (actions, warnings, server.writes()) == ([], [], [])


def test_extra_privileges_are_revoked_and_password_reset(session_for):
    server = _server(user_row={"plugin": "mysql_native_password", "authentication_string": native_password_hash("old")},
                     grants=["GRANT SELECT, REPLICATION SLAVE ON *.* TO `repl`@`%`"])
    actions, unused, diff = ensure_replication_user(session_for(server), MARIADB, "repl", "%", "new", "always", _never_login)
    assert server.writes() == ["REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s",
                               "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO %s@%s",
                               "ALTER USER %s@%s IDENTIFIED BY %s"]
    assert actions[0] == ("reset privileges of repl@% to REPLICATION SLAVE, REPLICATION CLIENT "
                          "(had: REPLICATION SLAVE, SELECT)")
    assert diff["before"]["password_works"] is False


def test_on_create_warns_instead_of_changing_the_password(session_for):
    server = _server(user_row={"plugin": "mysql_native_password", "authentication_string": native_password_hash("old")},
                     grants=["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `repl`@`%`"])
    actions, warnings, unused = ensure_replication_user(session_for(server), MARIADB, "repl", "%", "new", "on_create", _never_login)
    assert actions == [] and server.writes() == []
    assert "left unchanged because update_password=on_create" in warnings[0]


@pytest.mark.parametrize("login_works, writes", [(True, []), (False, ["ALTER USER %s@%s IDENTIFIED BY %s"])])
def test_mysql_caching_sha2_password_checked_by_login(session_for, login_works, writes):
    server = FakeServer(version="8.4.3", comment="MySQL", variables=mariadb_variables(),
                        user_row={"plugin": "caching_sha2_password", "authentication_string": "$A$005$..."},
                        grants=["GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `repl`@`%`"])
    ensure_replication_user(session_for(server), MYSQL84, "repl", "%", "pw", "always", lambda: login_works)
    assert server.writes() == writes


def test_check_mode_records_but_does_not_create(session_for):
    server = _server()
    queries = []
    actions, unused_user, unused_password = ensure_replication_user(
        session_for(server, check_mode=True, queries=queries), MARIADB, "repl", "%", "pw", "always", _never_login)
    assert actions and server.writes() == []
    assert queries[-1] == "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'"
