#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudsql_database
short_description: Create, update or delete a database of a Cloud SQL (MySQL) instance
description:
  - Manages one database through the Cloud SQL Admin API C(databases) collection and waits for the operation.
  - Changes the charset or collation of an existing database only when given and different.
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.gcp_auth
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.changes
options:
  instance:
    description: Name of the Cloud SQL instance.
    type: str
    required: true
  name:
    description: Name of the database.
    type: str
    required: true
  charset:
    description: MySQL character set, for example V(utf8mb4). The server default when unset.
    type: str
  collation:
    description: MySQL collation, for example V(utf8mb4_0900_ai_ci). Must belong to O(charset).
    type: str
  state:
    description: Whether the database should exist. V(absent) deletes it with its data.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reports the change without writing.
  diff_mode:
    support: full
    description: Shows name, charset and collation before and after.
"""

EXAMPLES = r"""
- name: The application's database
  statefuldb.k8s.cloudsql_database:
    project: my-project
    instance: orders-db
    name: orders
    charset: utf8mb4
    collation: utf8mb4_0900_ai_ci
"""

RETURN = r"""
database:
  description: The database after the task, null when absent.
  returned: always
  type: dict
  sample: {"name": "orders", "charset": "utf8mb4", "collation": "utf8mb4_0900_ai_ci"}
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.client import cloudsql_module, exit_with
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.databases import (
    DatabaseInputError,
    ensure_database,
    validate_database,
)


def main():
    module = cloudsql_module(
        instance=dict(type="str", required=True),
        name=dict(type="str", required=True),
        charset=dict(type="str"),
        collation=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    p = module.params
    try:
        validate_database(p["name"], p["charset"], p["collation"])
    except DatabaseInputError as exc:
        module.fail_json(msg="Invalid database: %s" % exc)
    exit_with(module, lambda client: ensure_database(client, p["name"], charset=p["charset"], collation=p["collation"],
                                                     state=p["state"], check_mode=module.check_mode),
              (DatabaseInputError,))


if __name__ == "__main__":
    main()
