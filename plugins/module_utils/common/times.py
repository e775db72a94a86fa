# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one time parser: RFC 3339 timestamps (Kubernetes, Cloud SQL) and HTTP dates (Retry-After)."""

from __future__ import annotations

import datetime
import re
from email.utils import parsedate_to_datetime


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_rfc3339(text):
    """RFC 3339 timestamp -> aware datetime (UTC); raise ValueError when malformed."""
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python < 3.11 accepts at most 6 fractional digits; the APIs may send nanoseconds.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed.astimezone(datetime.timezone.utc)


def rfc3339_timestamp(text):
    """Seconds since the epoch of an RFC 3339 timestamp; None when empty or malformed (an API field to show, not input)."""
    if not text:
        return None
    try:
        return parse_rfc3339(text).timestamp()
    except ValueError:
        return None


def timestamp_rfc3339(seconds):
    """Seconds since the epoch -> RFC 3339 to the second, as Kubernetes writes it; None stays None."""
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_http_date(text):
    """An HTTP date (RFC 9110, as in Retry-After) -> aware datetime; None when unreadable."""
    try:
        return parsedate_to_datetime(str(text))
    except (TypeError, ValueError, IndexError):
        return None
