#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudsql_user
short_description: Create, update or delete a user of a Cloud SQL (MySQL) instance
description:
  - Manages one user through the Cloud SQL Admin API C(users) collection and waits for the operation.
  - The API never returns passwords, so a password is set when the user is created and changed
    afterwards only with O(update_password=always) (which then always reports a change).
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
    description:
      - The user name. For IAM users the e-mail address (a service account without C(.gserviceaccount.com)).
    type: str
    required: true
  type:
    description: Kind of user.
    type: str
    choices: [BUILT_IN, CLOUD_IAM_USER, CLOUD_IAM_SERVICE_ACCOUNT, CLOUD_IAM_GROUP]
    default: BUILT_IN
  host:
    description:
      - The host part of a BUILT_IN MySQL user (C('name'@'host')). Defaults to V(%) (any host).
      - Not used for IAM users.
    type: str
  password:
    description:
      - Password of a BUILT_IN user. Required to create one. Never logged.
    type: str
  update_password:
    description:
      - V(on_create) sets the password only when the user is created.
      - V(always) sets it on every run (reported as changed, the API cannot compare passwords).
    type: str
    choices: [always, on_create]
    default: on_create
  state:
    description: Whether the user should exist.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reports the change without writing.
  diff_mode:
    support: full
    description: Shows the user (never the password) before and after.
"""

EXAMPLES = r"""
- name: An application user that may connect from anywhere
  statefuldb.k8s.cloudsql_user:
    project: my-project
    instance: orders-db
    name: app
    host: "%"
    password: "{{ vault_app_password }}"

- name: An IAM service account user
  statefuldb.k8s.cloudsql_user:
    project: my-project
    instance: orders-db
    name: app-sa@my-project.iam
    type: CLOUD_IAM_SERVICE_ACCOUNT

- name: Remove a user
  statefuldb.k8s.cloudsql_user:
    project: my-project
    instance: orders-db
    name: old
    state: absent
"""

RETURN = r"""
user:
  description: The user after the task (name, host, type), null when absent. Never the password.
  returned: always
  type: dict
  sample: {"name": "app", "host": "%", "type": "BUILT_IN"}
password_updated:
  description: Whether a password was (or in check mode would be) sent.
  returned: always
  type: bool
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.client import cloudsql_module, exit_with
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.users import (
    USER_TYPES,
    UserInputError,
    ensure_user,
    validate_user,
)


def main():
    module = cloudsql_module(
        instance=dict(type="str", required=True),
        name=dict(type="str", required=True),
        type=dict(type="str", default="BUILT_IN", choices=list(USER_TYPES)),
        host=dict(type="str"),
        password=dict(type="str", no_log=True),
        update_password=dict(type="str", default="on_create", choices=["always", "on_create"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    p = module.params
    try:
        validate_user(p["name"], p["type"], p["host"], p["password"], p["state"])
    except UserInputError as exc:
        module.fail_json(msg="Invalid user: %s" % exc)
    exit_with(module, lambda client: ensure_user(client, p["name"], user_type=p["type"], host=p["host"],
                                                 password=p["password"], update_password=p["update_password"],
                                                 state=p["state"], check_mode=module.check_mode),
              (UserInputError,))


if __name__ == "__main__":
    main()
