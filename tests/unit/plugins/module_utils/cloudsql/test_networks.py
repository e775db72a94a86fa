# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import datetime

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.networks import (
    NetworkInputError,
    comparable,
    entries_equal,
    merge_networks,
    normalize_entries,
    parse_duration,
)

NOW = datetime.datetime(2030, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def acl(value, name=None, expiration=None):
    entry = {"kind": "sql#aclEntry", "value": value}
    if name:
        entry["name"] = name
    if expiration:
        entry["expirationTime"] = expiration
    return entry


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("5m", 300), ("1h", 3600), ("2d", 172800), (" 10 m ", 600)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5x", "-5m", "0m", "1.5h", "soon"])
def test_parse_duration_rejects(text):
    with pytest.raises(NetworkInputError, match="is not a duration"):
        parse_duration(text)


def test_expires_in_becomes_rfc3339_expiration():
    [entry] = normalize_entries([{"name": "tmp", "value": "198.51.100.7", "expires_in": "5m"}], now=NOW)
    assert entry["expirationTime"] == "2030-01-01T12:05:00.000Z"
    assert entry["_expires_in"] == 300


def test_expiration_time_is_normalized_to_utc():
    [entry] = normalize_entries([{"value": "198.51.100.7", "expiration_time": "2030-01-01T15:00:00+02:00"}], now=NOW)
    assert entry["expirationTime"] == "2030-01-01T13:00:00.000Z"


@pytest.mark.parametrize("entry, message", [
    ({"name": "x", "value": "300.1.1.1"}, "not a valid IPv4 address or CIDR"),
    ({"name": "x", "value": "10.1.2.3/8"}, "has host bits set; use 10.0.0.0/8"),
    ({"name": "x", "value": "2001:db8::/32"}, "is IPv6"),
    ({"name": "x"}, "value is required"),
    ({"name": "n" * 256, "value": "198.51.100.1"}, "256 characters long; use at most 255"),
    ({"name": "", "value": "198.51.100.1"}, "name must be a non-empty string"),
    ({"name": "x", "value": "198.51.100.1", "expiration_time": "2029-12-31T00:00:00Z"}, "is in the past"),
    ({"name": "x", "value": "198.51.100.1", "expiration_time": "tomorrow"}, "not an RFC 3339 timestamp"),
    ({"name": "x", "value": "198.51.100.1", "expiration_time": "2031-01-01T00:00:00Z", "expires_in": "1h"},
     "not both"),
])
def test_invalid_entries_name_the_entry_and_field(entry, message):
    with pytest.raises(NetworkInputError, match="authorized_networks\\[0\\]") as info:
        normalize_entries([entry], now=NOW)
    assert message in str(info.value)


def test_duplicate_names_are_rejected():
    with pytest.raises(NetworkInputError, match="duplicate entry"):
        normalize_entries([{"name": "a", "value": "198.51.100.1"}, {"name": "a", "value": "198.51.100.2"}], now=NOW)


def test_absent_entries_need_only_a_name_or_value():
    assert normalize_entries([{"name": "a"}, {"value": "198.51.100.2"}], state="absent") == [
        {"name": "a"}, {"value": "198.51.100.2"}]
    with pytest.raises(NetworkInputError, match="give the name"):
        normalize_entries([{}], state="absent")


def test_merge_by_name_keeps_others_and_updates_in_place():
    current = [acl("192.0.2.0/24", "other"), acl("203.0.113.0/24", "office")]
    desired = normalize_entries([{"name": "office", "value": "203.0.113.128/25"},
                                 {"name": "new", "value": "198.51.100.1"}], now=NOW)
    merged = merge_networks(current, desired, now=NOW)
    assert [(e.get("name"), e["value"]) for e in merged] == [
        ("other", "192.0.2.0/24"), ("office", "203.0.113.128/25"), ("new", "198.51.100.1")]
    assert all("_expires_in" not in e for e in merged)


def test_unnamed_entries_match_by_network():
    current = [acl("198.51.100.1/32")]
    desired = normalize_entries([{"value": "198.51.100.1"}], now=NOW)
    assert comparable(merge_networks(current, desired, now=NOW)) == comparable(current)


def test_absent_removes_only_named_entries():
    current = [acl("192.0.2.0/24", "keep"), acl("198.51.100.0/24", "drop"), acl("203.0.113.9")]
    desired = normalize_entries([{"name": "drop"}, {"value": "203.0.113.9/32"}, {"name": "not-there"}], state="absent")
    assert merge_networks(current, desired, state="absent") == [acl("192.0.2.0/24", "keep")]


def test_exclusive_is_exactly_the_list_and_rejects_absent():
    current = [acl("192.0.2.0/24", "old"), acl("203.0.113.0/24", "office")]
    desired = normalize_entries([{"name": "office", "value": "203.0.113.0/24"}], now=NOW)
    assert merge_networks(current, desired, exclusive=True, now=NOW) == [acl("203.0.113.0/24", "office")]
    with pytest.raises(NetworkInputError, match="exclusive"):
        merge_networks(current, desired, state="absent", exclusive=True)


def test_expires_in_renews_only_when_less_than_half_remains():
    [wanted] = normalize_entries([{"name": "tmp", "value": "198.51.100.7", "expires_in": "1h"}], now=NOW)
    fresh = acl("198.51.100.7", "tmp", "2030-01-01T12:40:00Z")
    stale = acl("198.51.100.7", "tmp", "2030-01-01T12:20:00Z")
    assert entries_equal(fresh, wanted, now=NOW) is True
    assert entries_equal(stale, wanted, now=NOW) is False
    assert entries_equal(acl("198.51.100.7", "tmp"), wanted, now=NOW) is False


def test_fixed_expiration_compares_as_time_not_text():
    [wanted] = normalize_entries([{"name": "t", "value": "198.51.100.7", "expiration_time": "2030-02-01T00:00:00Z"}],
                                 now=NOW)
    assert entries_equal(acl("198.51.100.7", "t", "2030-02-01T00:00:00.000000000Z"), wanted, now=NOW)
    assert not entries_equal(acl("198.51.100.7", "t"), wanted, now=NOW)


def test_managed_prefix_removes_only_its_own_entries_that_are_gone():
    current = [{"name": "office", "value": "203.0.113.0/24"},
               {"name": "statefuldb-node-a", "value": "198.51.100.1"},
               {"name": "statefuldb-node-b", "value": "198.51.100.2"},
               {"name": "k8s-node-b", "value": "198.51.100.9"},
               {"value": "192.0.2.7"}]
    desired = normalize_entries([{"name": "statefuldb-node-a", "value": "198.51.100.1"},
                                 {"name": "statefuldb-node-c", "value": "198.51.100.3"}])
    merged = merge_networks(current, desired, managed_prefix="statefuldb-node-")
    assert [(e.get("name"), e["value"]) for e in merged] == [
        ("office", "203.0.113.0/24"), ("statefuldb-node-a", "198.51.100.1"), ("k8s-node-b", "198.51.100.9"),
        (None, "192.0.2.7"), ("statefuldb-node-c", "198.51.100.3")]
    # Without the prefix nothing is removed (merge, never replace).
    assert len(merge_networks(current, desired)) == 6
