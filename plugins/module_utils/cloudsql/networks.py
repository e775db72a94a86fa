# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Authorized networks: validate the task's entries and merge them into the instance's list."""

from __future__ import annotations

import datetime
import ipaddress
import re

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.times import (
    format_rfc3339,
    parse_rfc3339,
    utcnow,
)

ACL_KIND = "sql#aclEntry"
# The API documents no limit for the label; 255 keeps it well inside what the console shows.
MAX_NAME_LENGTH = 255
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class NetworkInputError(ValueError):
    """An authorized_networks entry is invalid; the message names the entry and field."""


def parse_duration(text):
    """'90s', '5m', '1h', '2d' -> seconds."""
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) <= 0:
        raise NetworkInputError("expires_in %r is not a duration; use a positive number followed by "
                                "s, m, h or d, for example '5m' or '1h'" % (text,))
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def canonical_value(value):
    """'1.2.3.4' and '1.2.3.4/32' are the same network."""
    return str(ipaddress.ip_network(value, strict=False))


def _validate_value(value, label):
    if not isinstance(value, str) or not value.strip():
        raise NetworkInputError("%s: value is required (an IPv4 address or CIDR such as "
                                "203.0.113.0/24)" % label)
    value = value.strip()
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            fixed = ipaddress.ip_network(value, strict=False)
            raise NetworkInputError("%s: value %r has host bits set; use %s" % (label, value, fixed))
        raise NetworkInputError("%s: value %r is not a valid IPv4 address or CIDR range "
                                "(for example 203.0.113.7 or 203.0.113.0/24)" % (label, value))
    if network.version != 4:
        raise NetworkInputError("%s: value %r is IPv6; Cloud SQL authorized networks accept IPv4 "
                                "addresses and ranges only" % (label, value))
    return value


def normalize_entries(entries, now=None, state="present"):
    """Validate the task's authorized_networks and turn them into API AclEntry dicts.

    Each entry: value (CIDR/IP), name (optional label), expiration_time (RFC 3339) or
    expires_in ('5m', '1h'). With state=absent only name/value are used.
    Adds '_expires_in' (seconds) for entries given with expires_in, used by entries_equal.
    """
    now = now or utcnow()
    result = []
    seen = set()
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, dict):
            raise NetworkInputError("authorized_networks[%d] must be a dictionary with value, name, "
                                    "expiration_time or expires_in" % index)
        name = entry.get("name")
        label = "authorized_networks[%d]%s" % (index, " (%s)" % name if name else "")
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise NetworkInputError("%s: name must be a non-empty string" % label)
            if len(name) > MAX_NAME_LENGTH:
                raise NetworkInputError("%s: name is %d characters long; use at most %d"
                                        % (label, len(name), MAX_NAME_LENGTH))
        value = entry.get("value")
        if state == "absent":
            if not name and not value:
                raise NetworkInputError("%s: give the name (or value) of the entry to remove" % label)
            out = {}
            if name:
                out["name"] = name
            if value:
                out["value"] = _validate_value(value, label)
            result.append(out)
            continue
        value = _validate_value(value, label)
        out = {"kind": ACL_KIND, "value": value}
        if name:
            out["name"] = name
        expiration_time = entry.get("expiration_time")
        expires_in = entry.get("expires_in")
        if expiration_time and expires_in:
            raise NetworkInputError("%s: set expiration_time or expires_in, not both" % label)
        if expiration_time:
            try:
                moment = parse_rfc3339(expiration_time)
            except ValueError:
                raise NetworkInputError("%s: expiration_time %r is not an RFC 3339 timestamp such as "
                                        "2030-01-31T12:00:00Z" % (label, expiration_time))
            if moment <= now:
                raise NetworkInputError("%s: expiration_time %s is in the past; give a future time "
                                        "or use expires_in" % (label, expiration_time))
            out["expirationTime"] = format_rfc3339(moment)
        elif expires_in:
            try:
                seconds = parse_duration(expires_in)
            except NetworkInputError as exc:
                raise NetworkInputError("%s: %s" % (label, exc))
            out["expirationTime"] = format_rfc3339(now + datetime.timedelta(seconds=seconds))
            out["_expires_in"] = seconds
        key = _key(out)
        if key in seen:
            raise NetworkInputError("%s: duplicate entry %s; each name (or value without a name) "
                                    "may appear once" % (label, key[1]))
        seen.add(key)
        result.append(out)
    return result


def _key(entry):
    """Entries are matched by name; unnamed entries by their network."""
    if entry.get("name"):
        return ("name", entry["name"])
    return ("value", canonical_value(entry["value"]))


def _expiration(entry):
    text = entry.get("expirationTime")
    if not text:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def entries_equal(current, desired, now=None):
    """Is the current entry already what the task asks for?

    An entry given with expires_in is renewed only when less than half of expires_in remains,
    so a repeated run within that time changes nothing.
    """
    now = now or utcnow()
    if current.get("name") != desired.get("name"):
        return False
    try:
        if canonical_value(current.get("value", "")) != canonical_value(desired["value"]):
            return False
    except ValueError:
        return False
    current_exp = _expiration(current)
    if "_expires_in" in desired:
        if current_exp is None:
            return False
        remaining = (current_exp - now).total_seconds()
        return remaining >= desired["_expires_in"] / 2.0
    return current_exp == _expiration(desired)


def public_entry(entry):
    """An AclEntry as sent to / returned by the API (without our private markers)."""
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def merge_networks(current, desired, state="present", exclusive=False, now=None, managed_prefix=None):
    """Return the new authorizedNetworks list (API shape) for the task.

    - present: each desired entry replaces the current entry with the same name (or, without a
      name, the same network) or is appended; every other entry is kept, except, with
      managed_prefix, entries whose name starts with it and that the task no longer lists (the
      task owns those names: addresses of nodes that are gone).
    - absent: removes only the entries the task names (by name, or by value without a name).
    - exclusive (present only): the list becomes exactly the task's entries.
    Entries that need no change keep their current form (including their expirationTime).
    """
    now = now or utcnow()
    current = [dict(e) for e in (current or [])]
    if state == "absent":
        if exclusive:
            raise NetworkInputError("exclusive: true cannot be combined with state: absent; use "
                                    "state: present with the complete list instead")
        names = {d["name"] for d in desired if d.get("name")}
        values = {canonical_value(d["value"]) for d in desired if not d.get("name")}
        kept = []
        for entry in current:
            if entry.get("name") and entry["name"] in names:
                continue
            try:
                if canonical_value(entry.get("value", "")) in values:
                    continue
            except ValueError:
                pass
            kept.append(entry)
        return kept
    index = {}
    for position, entry in enumerate(current):
        try:
            index.setdefault(_key(entry), position)
        except ValueError:
            continue
    if exclusive:
        result = []
        for wanted in desired:
            position = index.get(_key(wanted))
            if position is not None and entries_equal(current[position], wanted, now):
                result.append(current[position])
            else:
                result.append(public_entry(wanted))
        return result
    result = list(current)
    for wanted in desired:
        position = index.get(_key(wanted))
        if position is None:
            result.append(public_entry(wanted))
        elif not entries_equal(current[position], wanted, now):
            result[position] = public_entry(wanted)
    if managed_prefix:
        listed = {d["name"] for d in desired if d.get("name")}
        result = [e for e in result
                  if not (e.get("name") or "").startswith(managed_prefix) or e["name"] in listed]
    return result


def comparable(entries):
    """A form of the list for change detection: order-sensitive, kind ignored."""
    out = []
    for entry in entries or []:
        exp = _expiration(entry)
        try:
            value = canonical_value(entry.get("value", ""))
        except ValueError:
            value = entry.get("value")
        out.append((entry.get("name"), value, exp.isoformat() if exp else None))
    return out


def for_display(entries):
    """The list as users write it (value, name, expiration_time) for diff and results."""
    out = []
    for entry in entries or []:
        item = {"value": entry.get("value")}
        if entry.get("name"):
            item["name"] = entry["name"]
        if entry.get("expirationTime"):
            item["expiration_time"] = entry["expirationTime"]
        out.append(item)
    return out
