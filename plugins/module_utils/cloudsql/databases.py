# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure one Cloud SQL database exists with a charset/collation, or is absent."""

from __future__ import annotations

import re

_NAME = re.compile(r"^[A-Za-z0-9_$-]{1,64}$")


class DatabaseInputError(ValueError):
    pass


def public_database(database):
    if not database:
        return None
    return {"name": database.get("name"), "charset": database.get("charset"),
            "collation": database.get("collation")}


def validate_database(name, charset, collation):
    if not name or not _NAME.match(name):
        raise DatabaseInputError("name %r is not a valid MySQL database name (1-64 letters, digits, "
                                 "_, $ or -)" % (name,))
    if collation and charset and not collation.startswith(charset + "_"):
        raise DatabaseInputError("collation %r does not belong to charset %r (MySQL collations "
                                 "start with the charset name, e.g. %s_general_ci)"
                                 % (collation, charset, charset))


def ensure_database(client, name, charset=None, collation=None, state="present", check_mode=False):
    validate_database(name, charset, collation)
    client.get_instance()  # a clear 404 naming project and instance before anything else
    existing = next((d for d in client.list_databases() if d.get("name") == name), None)
    before = public_database(existing)
    result = dict(changed=False, database=before, diff=dict(before=before, after=before))
    if state == "absent":
        if existing is not None:
            result.update(changed=True, database=None, diff=dict(before=before, after=None))
            if not check_mode:
                client.wait_operation(client.delete_database(name))
        return result
    if existing is None:
        body = {"name": name}
        if charset:
            body["charset"] = charset
        if collation:
            body["collation"] = collation
        result.update(changed=True, database=public_database(body), diff=dict(before=None, after=public_database(body)))
        if not check_mode:
            created = client.create(lambda: client.insert_database(body), lambda: client.get_database(name))
            result["database"] = public_database(created) or result["database"]
            result["diff"]["after"] = result["database"]
        return result
    patch = {}
    if charset and existing.get("charset") != charset:
        patch["charset"] = charset
    if collation and existing.get("collation") != collation:
        patch["collation"] = collation
    if not patch:
        return result
    after = dict(before, **patch)
    result.update(changed=True, database=after, diff=dict(before=before, after=after))
    if not check_mode:
        client.wait_operation(client.patch_database(name, patch))
        result["database"] = public_database(client.get_database(name)) or after
        result["diff"]["after"] = result["database"]
    return result
