# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure the replication account on the primary.

It exists, holds exactly the replication privileges, and its password is only set when the given
one does not already work."""
from __future__ import annotations

import binascii
import re

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.passwords import stored_password_matches
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import Statement

_GLOBAL_GRANT = re.compile(r"^GRANT (?P<privs>.+?) ON \*\.\* TO ", re.IGNORECASE)


def parse_grants(lines):
    """SHOW GRANTS lines -> (global privileges as a set, other grant lines).

    USAGE means "no privilege". WITH GRANT OPTION and database/table grants are "other": the
    replication account should have none of them.
    """
    privileges = set()
    other = []
    for line in lines:
        match = _GLOBAL_GRANT.match(line)
        if not match:
            other.append(line)
            continue
        for privilege in match.group("privs").split(","):
            privilege = privilege.strip().upper()
            if privilege and privilege != "USAGE":
                privileges.add(privilege)
        if "WITH GRANT OPTION" in line.upper():
            other.append("WITH GRANT OPTION")
    return privileges, other


def _user_row(session, user, host):
    # HEX: caching_sha2_password's stored salt is binary and would not survive a text column.
    return session.row(Statement(
        "SELECT plugin, HEX(authentication_string) AS authentication_hex FROM mysql.user"
        " WHERE User = %s AND Host = %s", (user, host)))


def _grant_lines(session, user, host):
    rows = session.rows(Statement("SHOW GRANTS FOR %s@%s", (user, host)))
    return [list(row.values())[0] for row in rows]


def _stored(row):
    text = row.get("authentication_hex") or ""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("ascii")
    return binascii.unhexlify(text)


def password_works(row, password, try_login):
    """True/False, or None when it cannot be told.

    Checked offline against the stored hash whenever the plugin allows it (native, caching_sha2,
    sha256, ed25519), wherever the controller is. Otherwise a login from the controller that succeeds
    proves it; a refused login proves nothing (the host pattern may not admit the controller).
    """
    known = stored_password_matches(row.get("plugin"), _stored(row), password)
    if known is not None:
        return known
    return True if try_login() else None


def ensure_replication_user(session, flavor, user, host, password, update_password, try_login):
    """Create or repair the account; writes go through ``session``.

    Returns (actions, warnings, diff) where diff is {"before": ..., "after": ...} of the account
    (exists, privileges, password_works), never the password; "after" also has
    password_changed=True when the account was created or its password set.
    """
    actions = []
    warnings = []
    wanted = sorted(flavor.statement("shown_privileges"))
    after = {"exists": True, "privileges": wanted, "password_works": True}
    privileges = flavor.statement("grant_privileges")
    grant = Statement("GRANT %s ON *.* TO %%s@%%s" % privileges, (user, host))
    row = _user_row(session, user, host)
    if row is None:
        session.write(Statement("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, password), secret=[2]))
        session.write(grant)
        actions.append("created replication user %s@%s with %s" % (user, host, privileges))
        before = {"exists": False, "privileges": [], "password_works": False}
        return actions, warnings, {"before": before, "after": dict(after, password_changed=True)}

    held, other = parse_grants(_grant_lines(session, user, host))
    before = {"exists": True, "privileges": sorted(held) + other}
    if held != set(wanted) or other:
        session.write(Statement("REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s", (user, host)))
        session.write(grant)
        had = ", ".join(sorted(held)) or "no global privileges"
        if other:
            had += "; plus %d other grant(s)" % len(other)
        actions.append("reset privileges of %s@%s to %s (had: %s)" % (user, host, privileges, had))

    works = password_works(row, password, try_login)
    before["password_works"] = works
    if works:
        return actions, warnings, {"before": before, "after": after}
    if works is None:
        # Setting it on every run would report a change every time: leave it and say why.
        warnings.append(
            "cannot tell whether replication_password is the password of %s@%s: its plugin %s "
            "cannot be checked offline and the login from here was refused (the account's host "
            "pattern may not admit this machine); the password was left unchanged. Set it with "
            "SET PASSWORD / ALTER USER if it must change." % (user, host, row.get("plugin")))
        after["password_works"] = None
        return actions, warnings, {"before": before, "after": after}
    if update_password == "on_create":
        warnings.append(
            "replication_password does not match the existing password of %s@%s; left unchanged "
            "because update_password=on_create." % (user, host))
        after["password_works"] = False
        return actions, warnings, {"before": before, "after": after}
    session.write(Statement(flavor.statement("set_password"), (user, host, password), secret=[2]))
    actions.append("set the password of %s@%s (the given replication_password did not work)" % (user, host))
    return actions, warnings, {"before": before, "after": dict(after, password_changed=True)}
