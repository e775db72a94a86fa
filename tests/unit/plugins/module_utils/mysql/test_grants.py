"""The replication account: privileges parsing, offline password check, what gets written."""
import pytest
from ansible_collections.statefuldb.k8s.tests.unit.plugins.module_utils.mysql.mysql_fakes import FakeServer, mariadb_variables

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import from_strings
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.grants import (
    ensure_replication_user,
    parse_grants,
    password_works,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.passwords import (
    ed25519_password_hash,
    native_password_hash,
    sha256_crypt,
    stored_password_matches,
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


def _row(plugin, stored):
    stored = stored.encode("latin-1") if isinstance(stored, str) else stored
    return {"plugin": plugin, "authentication_hex": stored.hex().upper()}


def _caching_sha2(password, salt=bytes(range(40, 60))):
    return b"$A$005$" + salt + sha256_crypt(password.encode(), salt, 5000).encode()


def test_password_check_native_offline_and_unknown_plugins_by_login():
    row = _row("mysql_native_password", native_password_hash("pw"))
    assert password_works(row, "pw", _never_login) is True
    assert password_works(row, "other", _never_login) is False
    assert password_works(_row("mysql_native_password", ""), "", _never_login) is True
    parsec = _row("parsec", "P0:salt:hash")
    assert password_works(parsec, "pw", lambda: True) is True
    # A refused login proves nothing: the host pattern may not admit the controller.
    assert password_works(parsec, "pw", lambda: False) is None


def test_mariadb_ed25519_is_checked_offline():
    # What MariaDB 10.11 stores for IDENTIFIED VIA ed25519 USING PASSWORD('secret').
    stored = "ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY"
    assert ed25519_password_hash("secret") == stored
    assert password_works(_row("ed25519", stored), "secret", _never_login) is True
    assert password_works(_row("ed25519", stored), "Secret", _never_login) is False
    assert password_works(_row("ed25519", ""), "", _never_login) is True


# Published test vectors (hashcat mode 7401): password, salt, digest as MySQL 8 stores them.
SHA2_VECTORS = [
    ("hashcat", "F9CC98CE08892924F50A213B6BC571A2C11778C5",
     "625479393559393965414D45316477456B484F41316E64484742577A2E3162785353526B7554584647562F"),
    ("password", "06437A150142644D74187A6A2F0D7971094F2575",
     "48667A67485366745A304F6A487A73704250663465337A7530325157687A51364A384D737554424939702E"),
]


@pytest.mark.parametrize("password, salt, digest", SHA2_VECTORS)
def test_caching_sha2_password_is_checked_offline(password, salt, digest):
    stored = b"$A$005$" + bytes.fromhex(salt) + bytes.fromhex(digest)
    assert password_works(_row("caching_sha2_password", stored), password, _never_login) is True
    assert password_works(_row("caching_sha2_password", stored), password + "x", _never_login) is False
    assert password_works(_row("caching_sha2_password", ""), "", _never_login) is True
    # A form we do not know is not guessed at.
    assert stored_password_matches("caching_sha2_password", b"$B$005$xyz", password) is None


def test_sha256_crypt_matches_glibc():
    # crypt("Hello world!", "$5$saltstring"): the example of the SHA-crypt specification.
    assert sha256_crypt(b"Hello world!", b"saltstring", 5000) == "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
    stored = b"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
    assert stored_password_matches("sha256_password", stored, "Hello world!") is True
    assert stored_password_matches("sha256_password", stored, "hello world!") is False


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
                               "SET PASSWORD FOR %s@%s = PASSWORD(%s)"]
    assert actions[0] == ("reset privileges of repl@% to REPLICATION SLAVE, REPLICATION CLIENT "
                          "(had: REPLICATION SLAVE, SELECT)")
    assert diff["before"]["password_works"] is False


def test_on_create_warns_instead_of_changing_the_password(session_for):
    server = _server(user_row={"plugin": "mysql_native_password", "authentication_string": native_password_hash("old")},
                     grants=["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `repl`@`%`"])
    actions, warnings, unused = ensure_replication_user(session_for(server), MARIADB, "repl", "%", "new", "on_create", _never_login)
    assert actions == [] and server.writes() == []
    assert "left unchanged because update_password=on_create" in warnings[0]


@pytest.mark.parametrize("password, writes", [("pw", []), ("new-pw", ["ALTER USER %s@%s IDENTIFIED BY %s"])])
def test_mysql_caching_sha2_password_checked_without_logging_in(session_for, password, writes):
    # The account's host pattern does not admit the controller: a login would be refused even
    # with the right password, and ALTER USER ran on every run. The hash decides now.
    server = FakeServer(version="8.4.3", comment="MySQL", variables=mariadb_variables(),
                        user_row={"plugin": "caching_sha2_password", "authentication_string": _caching_sha2("pw")},
                        grants=["GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `repl`@`10.%`"])
    actions, warnings, diff = ensure_replication_user(session_for(server), MYSQL84, "repl", "10.%", password,
                                                      "always", _never_login)
    assert server.writes() == writes
    assert diff["after"].get("password_changed", False) is bool(writes)


def test_unknown_plugin_refused_login_leaves_the_password_and_warns(session_for):
    server = _server(user_row={"plugin": "parsec", "authentication_string": "P0:salt:hash"},
                     grants=["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `repl`@`10.%`"])
    actions, warnings, diff = ensure_replication_user(session_for(server), MARIADB, "repl", "10.%", "pw", "always",
                                                      lambda: False)
    assert (actions, server.writes()) == ([], [])
    assert "cannot tell whether replication_password is the password of repl@10.%" in warnings[0]
    assert diff["before"]["password_works"] is None


def test_check_mode_records_but_does_not_create(session_for):
    server = _server()
    queries = []
    actions, unused_user, unused_password = ensure_replication_user(
        session_for(server, check_mode=True, queries=queries), MARIADB, "repl", "%", "pw", "always", _never_login)
    assert actions and server.writes() == []
    assert queries[-1] == "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'"
