# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GTID arithmetic in Python, pure functions: MariaDB GTID lists and MySQL GTID sets.

MariaDB (domain-server-sequence): the comparisons work on *states*, the highest sequence number
each (domain, server_id) wrote, as @@gtid_binlog_state lists them. A position (@@gtid_binlog_pos,
@@gtid_slave_pos, Gtid_IO_Pos: the last GTID per domain) is a state too, only a coarser one, and
may be merged into a state. "A contains B" means every (domain, server_id) of B is in A with a
sequence at least as high; anything else was written where the other never saw it (errant, or
lost on a server that was restored or RESET). Under gtid_strict_mode a domain's sequence numbers
only grow, so per (domain, server_id) maxima are enough to tell "behind" from "diverged".
MariaDB has no server-side GTID set function, so this is the only place it is computed.

MySQL (uuid:interval-list, and 8.3+ tags, ``uuid:1-5:tag:1-3``): parsed into
{source: [(first, last), ...]} with ``source`` being the UUID or ``uuid:tag`` (tags are
case-insensitive, kept lower-case), so subset and subtract work when no server is at hand; where one
is, GTID_SUBSET/GTID_SUBTRACT give the same answers (the mysql.py table's ``errant_gtids``).
"""
from __future__ import annotations

import re

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError

# --- MariaDB ----------------------------------------------------------------------------------------


def parse_mariadb_gtids(text):
    """'0-1-5,1-2-7' -> [(0, 1, 5), (1, 2, 7)]; empty or None -> []."""
    gtids = []
    for item in (text or "").replace("\n", "").split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise MySQLReplicationError(
                "Cannot read the MariaDB GTID %r in %r (expected domain-server-sequence)." % (item, text))
        gtids.append(tuple(int(p) for p in parts))
    return gtids


def format_mariadb_gtids(gtids):
    return ",".join("%d-%d-%d" % gtid for gtid in sorted(gtids))


def mariadb_state(*values):
    """{(domain, server_id): highest seq} of one or more GTID lists (text) or states (dicts), merged."""
    state = {}
    for value in values:
        if isinstance(value, dict):
            items = [(domain, server, seq) for (domain, server), seq in value.items()]
        else:
            items = parse_mariadb_gtids(value)
        for domain, server, seq in items:
            key = (domain, server)
            state[key] = max(seq, state.get(key, 0))
    return state


def format_mariadb_state(state):
    return format_mariadb_gtids((domain, server, seq) for (domain, server), seq in mariadb_state(state).items())


def mariadb_missing(have, other):
    """What ``have`` holds that ``other`` never had: the last GTID of every (domain, server_id) where
    ``have`` went further (or that ``other`` lacks), sorted (domain, server, seq) tuples."""
    mine = mariadb_state(have)
    theirs = mariadb_state(other)
    return sorted((domain, server, seq) for (domain, server), seq in mine.items()
                  if theirs.get((domain, server), -1) < seq)


def mariadb_contains(whole, part):
    """Whether ``whole`` holds everything ``part`` has (equal states contain each other)."""
    return not mariadb_missing(part, whole)


def mariadb_ahead(have, other):
    """``have`` contains ``other`` and has more."""
    return mariadb_contains(have, other) and bool(mariadb_missing(have, other))


def mariadb_compare(first, second):
    """'equal', 'ahead' (first has all of second and more), 'behind', or 'diverged' (each has GTIDs the other lacks)."""
    first_extra = mariadb_missing(first, second)
    second_extra = mariadb_missing(second, first)
    if first_extra and second_extra:
        return "diverged"
    if first_extra:
        return "ahead"
    if second_extra:
        return "behind"
    return "equal"


def mariadb_errant(replica_binlog_state, source_binlog_state):
    """GTIDs in the replica's binlog state that the source never wrote or received.

    The source covers (domain, server, seq) when its binlog state has the same domain and
    server with a sequence at least as high. Anything else was written on the replica itself
    (or the source lost it, e.g. after RESET MASTER or a restore): either way GTID
    replication would silently diverge. Returns a sorted list of (domain, server, seq).
    """
    return mariadb_missing(replica_binlog_state, source_binlog_state)


def mariadb_position_ahead(position, other):
    """Whether a position (last GTID per domain) has a higher sequence than ``other`` in some domain."""
    mine, theirs = {}, {}
    for target, text in ((mine, position), (theirs, other)):
        for domain, unused, seq in parse_mariadb_gtids(text):
            target[domain] = max(seq, target.get(domain, 0))
    return any(seq > theirs.get(domain, -1) for domain, seq in mine.items())


def mariadb_transactions(state):
    """A rough size of a state for ordering diverged servers: the sum of each domain's highest sequence."""
    domains = {}
    for (domain, unused), seq in mariadb_state(state).items():
        domains[domain] = max(seq, domains.get(domain, 0))
    return sum(domains.values())


def mariadb_purged_beyond(position, binlog_start):
    """What a server at ``position`` would ask for that the source's binary logs no longer hold.

    ``binlog_start`` is the GTID list at the start of the source's oldest binary log
    (BINLOG_GTID_POS(oldest, 4)): the last GTID per (domain, server) written before it. A replica asks
    for everything after its last GTID per domain, so it is covered where its sequence in a domain is at
    least the highest one of that domain written before the oldest log. Returns sorted
    (domain, server, seq) tuples of the purged GTIDs it would miss (the last one per domain)."""
    reached = {}
    for (domain, unused), seq in mariadb_state(position).items():
        reached[domain] = max(seq, reached.get(domain, -1))
    last_purged = {}
    for domain, server, seq in parse_mariadb_gtids(binlog_start):
        if seq > last_purged.get(domain, (None, -1))[1]:
            last_purged[domain] = (server, seq)
    return sorted((domain, server, seq) for domain, (server, seq) in last_purged.items()
                  if reached.get(domain, -1) < seq)


# --- MySQL ------------------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_INTERVAL = re.compile(r"^(\d+)(?:-(\d+))?$")
_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


def _merge_intervals(intervals):
    merged = []
    for first, last in sorted(intervals):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def parse_mysql_gtid_set(text):
    """'uuid:1-5:7,uuid2:1-3' (and tags: 'uuid:1-5:tag:1-3') -> {source: [(first, last), ...]}, merged.

    ``source`` is the lower-case UUID, or 'uuid:tag' for tagged GTIDs. Raises MySQLReplicationError
    naming the part it cannot read."""
    result = {}
    for item in (text or "").replace("\n", "").split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        uuid = parts[0].strip().lower()
        if not _UUID.match(uuid):
            raise MySQLReplicationError(
                "Cannot read the MySQL GTID set %r: %r is not a server UUID (expected uuid:1-5[:tag:1-3])."
                % (text, parts[0]))
        source = uuid
        for part in parts[1:]:
            part = part.strip()
            interval = _INTERVAL.match(part)
            if interval:
                first = int(interval.group(1))
                last = int(interval.group(2)) if interval.group(2) else first
                if last < first or first < 1:
                    raise MySQLReplicationError("Cannot read the MySQL GTID set %r: interval %r is empty." % (text, part))
                result.setdefault(source, []).append((first, last))
            elif _TAG.match(part):
                source = "%s:%s" % (uuid, part.lower())
            else:
                raise MySQLReplicationError("Cannot read the MySQL GTID set %r: %r is neither an interval nor a tag."
                                            % (text, part))
    return {source: _merge_intervals(intervals) for source, intervals in result.items() if intervals}


def _as_set(value):
    return value if isinstance(value, dict) else parse_mysql_gtid_set(value)


def format_mysql_gtid_set(gtid_set):
    """The text form, sources sorted, untagged intervals before the tags of the same UUID."""
    gtid_set = _as_set(gtid_set)
    by_uuid = {}
    for source, intervals in gtid_set.items():
        uuid, unused, tag = source.partition(":")
        by_uuid.setdefault(uuid, []).append((tag, intervals))
    items = []
    for uuid in sorted(by_uuid):
        parts = [uuid]
        for tag, intervals in sorted(by_uuid[uuid]):
            if tag:
                parts.append(tag)
            parts.extend("%d" % first if first == last else "%d-%d" % (first, last) for first, last in intervals)
        items.append(":".join(parts))
    return ",".join(items)


def mysql_union(*values):
    result = {}
    for value in values:
        for source, intervals in _as_set(value).items():
            result[source] = _merge_intervals(result.get(source, []) + list(intervals))
    return result


def mysql_subtract(have, other):
    """GTIDs in ``have`` that are not in ``other`` (GTID_SUBTRACT), as a parsed set."""
    have, other = _as_set(have), _as_set(other)
    result = {}
    for source, intervals in have.items():
        remaining = list(intervals)
        for cut_first, cut_last in other.get(source, []):
            pieces = []
            for first, last in remaining:
                if cut_last < first or cut_first > last:
                    pieces.append((first, last))
                    continue
                if first < cut_first:
                    pieces.append((first, cut_first - 1))
                if last > cut_last:
                    pieces.append((cut_last + 1, last))
            remaining = pieces
        if remaining:
            result[source] = remaining
    return result


def mysql_subset(part, whole):
    """Whether every GTID of ``part`` is in ``whole`` (GTID_SUBSET)."""
    return not mysql_subtract(part, whole)


def mysql_transactions(value):
    """How many transactions a set holds."""
    return sum(last - first + 1 for intervals in _as_set(value).values() for first, last in intervals)
