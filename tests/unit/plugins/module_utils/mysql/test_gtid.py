"""GTID arithmetic: MariaDB lists and states, MySQL sets (tags included), errant transactions."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.gtid import (
    format_mariadb_gtids,
    format_mariadb_state,
    format_mysql_gtid_set,
    mariadb_ahead,
    mariadb_compare,
    mariadb_contains,
    mariadb_errant,
    mariadb_missing,
    mariadb_position_ahead,
    mariadb_state,
    mariadb_transactions,
    mysql_subset,
    mysql_subtract,
    mysql_transactions,
    mysql_union,
    parse_mariadb_gtids,
    parse_mysql_gtid_set,
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


# --- MariaDB states: contains, ahead, compare, missing ------------------------------------------------

def test_state_keeps_the_highest_sequence_per_domain_and_server_and_merges():
    assert mariadb_state("0-1-5,0-1-3,0-2-7", "1-3-2") == {(0, 1): 5, (0, 2): 7, (1, 3): 2}
    assert mariadb_state({(0, 1): 4}, "0-1-9") == {(0, 1): 9}
    assert format_mariadb_state("0-2-7,0-1-5") == "0-1-5,0-2-7"


@pytest.mark.parametrize("first, second, relation", [
    ("", "", "equal"),
    ("0-1-10", "0-1-10", "equal"),
    ("0-1-10", "0-1-4", "ahead"),
    ("0-1-4", "0-1-10", "behind"),
    # A new primary (server 2) continued the domain: whoever has its GTIDs is ahead.
    ("0-1-10,0-2-12", "0-1-10", "ahead"),
    # Each wrote something the other never saw.
    ("0-1-10,0-2-11", "0-1-12", "diverged"),
    # Another domain counts like any other.
    ("0-1-10,1-3-1", "0-1-10", "ahead"),
    ("", "0-1-1", "behind"),
])
def test_mariadb_compare(first, second, relation):
    assert mariadb_compare(first, second) == relation
    assert mariadb_contains(first, second) is (relation in ("equal", "ahead"))
    assert mariadb_ahead(first, second) is (relation == "ahead")


def test_mariadb_missing_is_what_a_has_that_b_never_had():
    assert mariadb_missing("0-1-10,0-2-11", "0-1-12") == [(0, 2, 11)]
    assert mariadb_missing("0-1-12", "0-1-10,0-2-11") == [(0, 1, 12)]
    assert mariadb_missing("0-1-10", "0-1-10,0-2-3") == []


def test_position_ahead_compares_per_domain():
    assert mariadb_position_ahead("0-2-12", "0-1-10") is True      # a former primary's own writes
    assert mariadb_position_ahead("0-1-10", "0-1-10") is False
    assert mariadb_position_ahead("0-1-10,1-2-1", "0-1-10") is True
    assert mariadb_position_ahead("", "0-1-10") is False


def test_transactions_is_a_per_domain_size():
    assert mariadb_transactions("0-1-10,0-2-12,1-3-4") == 16


# --- MySQL GTID sets ----------------------------------------------------------------------------------

A = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
B = "4d22fb58-82db-22f2-0f44-d91bb0530673"


def test_parse_mysql_sets_merges_and_normalizes():
    parsed = parse_mysql_gtid_set("%s:1-5:7-9:6, %s:3\n" % (A.upper(), B))
    assert parsed == {A: [(1, 9)], B: [(3, 3)]}
    assert format_mysql_gtid_set(parsed) == "%s:1-9,%s:3" % (A, B)
    assert parse_mysql_gtid_set("") == {} and parse_mysql_gtid_set(None) == {}


def test_parse_mysql_tagged_sets():
    parsed = parse_mysql_gtid_set("%s:1-5:Orders:1-3:7,%s:batch:2" % (A, B))
    assert parsed == {A: [(1, 5)], A + ":orders": [(1, 3), (7, 7)], B + ":batch": [(2, 2)]}
    assert format_mysql_gtid_set(parsed) == "%s:1-5:orders:1-3:7,%s:batch:2" % (A, B)
    assert mysql_subset("%s:orders:2" % A, parsed) and not mysql_subset("%s:2" % B, parsed)


@pytest.mark.parametrize("text, message", [
    ("0-1-5", "is not a server UUID"),
    ("%s:5-1" % A, "is empty"),
    ("%s:1-x" % A, "neither an interval nor a tag"),
])
def test_parse_mysql_refuses_clearly(text, message):
    with pytest.raises(MySQLReplicationError, match=message):
        parse_mysql_gtid_set(text)


@pytest.mark.parametrize("have, other, rest", [
    ("%s:1-10" % A, "%s:1-10" % A, ""),
    ("%s:1-10" % A, "%s:3-4:8" % A, "%s:1-2:5-7:9-10" % A),
    ("%s:1-10,%s:1-2" % (A, B), "%s:1-20" % A, "%s:1-2" % B),
    ("%s:1-3" % A, "", "%s:1-3" % A),
    ("", "%s:1-3" % A, ""),
])
def test_mysql_subtract_and_subset(have, other, rest):
    assert format_mysql_gtid_set(mysql_subtract(have, other)) == rest
    assert mysql_subset(have, other) is (rest == "")


def test_mysql_union_and_count():
    union = mysql_union("%s:1-3" % A, "%s:4-6,%s:1" % (A, B))
    assert format_mysql_gtid_set(union) == "%s:1-6,%s:1" % (A, B)
    assert mysql_transactions(union) == 7
