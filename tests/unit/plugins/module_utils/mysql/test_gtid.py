"""MariaDB GTID lists and errant-transaction detection."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.gtid import (
    format_mariadb_gtids,
    mariadb_errant,
    parse_mariadb_gtids,
)


def test_parse_and_format():
    assert parse_mariadb_gtids("0-1-5,1-2-7") == [(0, 1, 5), (1, 2, 7)]
    assert parse_mariadb_gtids(" 0-1-5 ,\n1-2-7") == [(0, 1, 5), (1, 2, 7)]
    assert parse_mariadb_gtids("") == [] and parse_mariadb_gtids(None) == []
    assert format_mariadb_gtids([(1, 2, 7), (0, 1, 5)]) == "0-1-5,1-2-7"


def test_parse_rejects_mysql_sets_clearly():
    with pytest.raises(MySQLReplicationError, match="expected domain-server-sequence"):
        parse_mariadb_gtids("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5")


@pytest.mark.parametrize("replica, source, errant", [
    # Fresh replica: nothing of its own.
    ("", "0-1-10", []),
    # Behind the source: fine, replication catches up.
    ("0-1-4", "0-1-10", []),
    ("0-1-10", "0-1-10", []),
    # A local write on the replica (server 2) the source never had.
    ("0-1-10,0-2-11", "0-1-10", [(0, 2, 11)]),
    # The source saw server 2's transactions too (e.g. former primary): not errant.
    ("0-1-10,0-2-11", "0-1-12,0-2-11", []),
    # Replica ahead of the source on the source's own server id: the source lost transactions.
    ("0-1-12", "0-1-10", [(0, 1, 12)]),
    # A domain the source never wrote.
    ("0-1-10,5-2-1", "0-1-10", [(5, 2, 1)]),
    # Source has no binlog history at all.
    ("0-1-3", "", [(0, 1, 3)]),
])
def test_mariadb_errant(replica, source, errant):
    assert mariadb_errant(replica, source) == errant
