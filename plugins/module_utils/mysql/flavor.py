# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which server we talk to (MariaDB or MySQL, which version) and the SQL table for it."""
from __future__ import annotations

import re

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.implementations import mariadb, mysql

_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_TABLES = {"mariadb": mariadb, "mysql": mysql}


class Flavor(object):
    """A detected server: ``name`` (mariadb|mysql), ``version`` tuple, raw version string, SQL table."""

    def __init__(self, name, version, version_string, table):
        self.name = name
        self.version = version
        self.version_string = version_string
        self.table = table

    def statement(self, key):
        return self.table[key]

    def __repr__(self):
        return "Flavor(%s %s)" % (self.name, ".".join(str(p) for p in self.version))


def parse_version(version_string):
    """(major, minor, patch) from VERSION(); MariaDB may prefix '5.5.5-' for old clients."""
    text = version_string or ""
    if text.startswith("5.5.5-"):
        text = text[len("5.5.5-"):]
    match = _VERSION_RE.search(text)
    if not match:
        raise MySQLReplicationError("Cannot read the server version from %r." % version_string)
    return tuple(int(part) for part in match.groups())


def flavor_name(version_string, version_comment):
    """'mariadb' when either string says MariaDB (Debian's comment is just 'Debian 12'), else 'mysql'."""
    text = "%s %s" % (version_string or "", version_comment or "")
    return "mariadb" if "mariadb" in text.lower() else "mysql"


def table_for(name, version):
    """The SQL table for a flavor and version; refuses versions we cannot replicate with."""
    implementation = _TABLES[name]
    if version < implementation.MINIMUM_VERSION:
        minimum = ".".join(str(p) for p in implementation.MINIMUM_VERSION)
        found = ".".join(str(p) for p in version)
        if name == "mysql":
            raise MySQLReplicationError(
                "MySQL %s is not supported: this module needs MySQL %s or later (CHANGE REPLICATION "
                "SOURCE TO and SHOW REPLICA STATUS, with GTID auto-positioning). Upgrade the server "
                "to 8.0.23+ or 8.4 LTS." % (found, minimum), server_version=found)
        raise MySQLReplicationError(
            "MariaDB %s is not supported: this module needs MariaDB %s or later "
            "(MASTER_USE_GTID)." % (found, minimum), server_version=found)
    chosen = None
    for first_version, table in implementation.VERSIONS:
        if version >= first_version:
            chosen = table
    return chosen


def from_strings(version_string, version_comment):
    name = flavor_name(version_string, version_comment)
    version = parse_version(version_string)
    return Flavor(name, version, version_string, table_for(name, version))


def detect(session):
    """Ask the server who it is."""
    row = session.row("SELECT VERSION() AS version, @@version_comment AS version_comment")
    return from_strings(row["version"], row["version_comment"])
