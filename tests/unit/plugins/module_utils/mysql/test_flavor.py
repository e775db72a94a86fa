"""Flavor detection and which SQL table each server version gets (no server needed).

No MySQL 8 server can be installed here (only Debian's MariaDB), so the MySQL 8.0/8.4 SQL is
checked against the tables and the fake server in test_replica.py, not against a real MySQL.
"""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.flavor import from_strings, parse_version
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.implementations import mariadb, mysql


@pytest.mark.parametrize("version, comment, name, parsed", [
    ("10.11.6-MariaDB-0+deb12u1-log", "Debian 12", "mariadb", (10, 11, 6)),
    ("5.5.5-10.6.16-MariaDB", "mariadb.org binary distribution", "mariadb", (10, 6, 16)),
    ("11.4.2-MariaDB-ubu2404", "mariadb.org binary distribution", "mariadb", (11, 4, 2)),
    ("8.0.36", "MySQL Community Server - GPL", "mysql", (8, 0, 36)),
    ("8.4.0-log", "MySQL Community Server - GPL", "mysql", (8, 4, 0)),
    ("8.0.35-27", "Percona Server (GPL), Release 27", "mysql", (8, 0, 35)),
    ("8.0.28", "Source distribution", "mysql", (8, 0, 28)),
])
def test_detects_flavor_and_version(version, comment, name, parsed):
    flavor = from_strings(version, comment)
    assert (flavor.name, flavor.version, flavor.version_string) == (name, parsed, version)


@pytest.mark.parametrize("version, comment, expected", [
    ("10.4.32-MariaDB", "", mariadb.MARIADB_10_0),
    ("10.5.0-MariaDB", "", mariadb.MARIADB_10_0),
    ("10.5.1-MariaDB", "", mariadb.MARIADB_10_5_1),
    ("10.5.2-MariaDB", "", mariadb.MARIADB_10_5_2),
    ("10.11.6-MariaDB", "", mariadb.MARIADB_10_5_2),
    ("11.4.2-MariaDB", "", mariadb.MARIADB_10_5_2),
    ("8.0.23", "MySQL Community Server - GPL", mysql.MYSQL_8_0_23),
    ("8.0.40", "MySQL Community Server - GPL", mysql.MYSQL_8_0_23),
    ("8.2.0", "MySQL Community Server - GPL", mysql.MYSQL_8_2),
    ("8.4.3", "MySQL Community Server - GPL", mysql.MYSQL_8_2),
    ("9.1.0", "MySQL Community Server - GPL", mysql.MYSQL_8_2),
])
def test_table_per_version(version, comment, expected):
    assert from_strings(version, comment).table is expected


@pytest.mark.parametrize("version, comment, words", [
    ("5.7.44-log", "MySQL Community Server (GPL)", ["MySQL 5.7.44 is not supported", "8.0.23", "8.4 LTS"]),
    ("8.0.22", "MySQL Community Server - GPL", ["MySQL 8.0.22 is not supported"]),
    ("10.0.1-MariaDB", "", ["MariaDB 10.0.1 is not supported", "10.0.2"]),
])
def test_refuses_old_servers_clearly(version, comment, words):
    with pytest.raises(MySQLReplicationError) as caught:
        from_strings(version, comment)
    for word in words:
        assert word in caught.value.msg


def test_unreadable_version_is_an_error_not_a_traceback():
    with pytest.raises(MySQLReplicationError, match="Cannot read the server version"):
        parse_version("garbage")
