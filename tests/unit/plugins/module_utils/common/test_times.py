"""The one time parser: RFC 3339 (Kubernetes, Cloud SQL) and HTTP dates (Retry-After)."""
import datetime

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.times import (
    format_rfc3339,
    parse_http_date,
    parse_rfc3339,
    rfc3339_timestamp,
    timestamp_rfc3339,
)

UTC = datetime.timezone.utc


@pytest.mark.parametrize("text,expected", [
    ("2026-01-01T00:00:05Z", datetime.datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)),
    ("2026-01-01T01:00:05+01:00", datetime.datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)),
    ("2026-01-01T00:00:05.123456789Z", datetime.datetime(2026, 1, 1, 0, 0, 5, 123456, tzinfo=UTC)),
])
def test_parse_rfc3339(text, expected):
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize("text", ["2026-01-01T00:00:05", "yesterday", ""])
def test_parse_rfc3339_refuses_what_is_not_a_zoned_timestamp(text):
    with pytest.raises(ValueError):
        parse_rfc3339(text)


def test_rfc3339_timestamp_is_none_for_missing_or_malformed_fields():
    assert rfc3339_timestamp("1970-01-01T00:01:00Z") == 60.0
    assert rfc3339_timestamp(None) is None and rfc3339_timestamp("garbage") is None


def test_kubernetes_timestamps_round_trip_to_the_second():
    assert rfc3339_timestamp("2026-01-01T00:00:05Z") == 1767225605.0
    assert timestamp_rfc3339(1767225605.0) == "2026-01-01T00:00:05Z"
    assert timestamp_rfc3339(None) is None


def test_format_round_trips():
    moment = datetime.datetime(2030, 1, 31, 12, 0, 0, 250000, tzinfo=UTC)
    assert format_rfc3339(moment) == "2030-01-31T12:00:00.250Z"
    assert parse_rfc3339(format_rfc3339(moment)) == moment


def test_parse_http_date():
    assert parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT") == datetime.datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    assert parse_http_date("soon") is None
