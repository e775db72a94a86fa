# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MariaDB GTID lists (domain-server-sequence) and the errant-transaction test on them.

MySQL has GTID_SUBSET/GTID_SUBTRACT on the server, MariaDB has no such function, so the
comparison for MariaDB is done here on @@gtid_binlog_state: the last sequence number each
(domain, server_id) wrote to the binary log.
"""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError


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


def mariadb_errant(replica_binlog_state, source_binlog_state):
    """GTIDs in the replica's binlog state that the source never wrote or received.

    The source covers (domain, server, seq) when its binlog state has the same domain and
    server with a sequence at least as high. Anything else was written on the replica itself
    (or the source lost it, e.g. after RESET MASTER or a restore): either way GTID
    replication would silently diverge. Returns a sorted list of (domain, server, seq).
    """
    source_last = {}
    for domain, server, seq in parse_mariadb_gtids(source_binlog_state):
        key = (domain, server)
        source_last[key] = max(seq, source_last.get(key, 0))
    errant = []
    for domain, server, seq in parse_mariadb_gtids(replica_binlog_state):
        if source_last.get((domain, server), -1) < seq:
            errant.append((domain, server, seq))
    return sorted(errant)
