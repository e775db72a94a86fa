#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudsql_access
short_description: Manage who may reach a Cloud SQL instance over IP (authorized networks, SSL mode, public IP)
description:
  - Changes only C(settings.ipConfiguration) of a Cloud SQL instance through the Cloud SQL Admin API.
  - Reads the instance, merges the task into the current authorized networks and sends a PATCH
    with the C(settingsVersion) just read. If someone changed the settings in between (HTTP 412)
    or another operation is running (HTTP 409 C(operationInProgress)), it reads again, merges
    again and retries until O(wait_timeout).
  - Waits for the update operation to finish and fails with the operation's error text.
  - Authorized networks are merged, never replaced, unless O(exclusive=true) (or, for the names
    it owns, O(managed_name_prefix)).
  - The SSL mode is left as it is unless O(ssl_mode) is set, and a weaker mode than the
    instance's is refused unless O(allow_ssl_downgrade=true).
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.gcp_auth
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.changes
options:
  instance:
    description: Name of the Cloud SQL instance (without the project).
    type: str
    required: true
  state:
    description:
      - V(present) adds or updates the entries of O(authorized_networks).
      - V(absent) removes the entries with the given names (or, for entries without a name, the
        given values) and leaves every other entry alone.
    type: str
    choices: [present, absent]
    default: present
  authorized_networks:
    description:
      - Networks allowed to connect. Entries are matched with the instance's entries by O(authorized_networks[].name),
        or by network when an entry has no name.
      - Leave unset to keep the list as it is (for example to change only O(ssl_mode)).
    type: list
    elements: dict
    suboptions:
      value:
        description:
          - An IPv4 address (V(203.0.113.7)) or CIDR range (V(203.0.113.0/24)).
          - Required with O(state=present).
        type: str
      name:
        description:
          - A label for the entry, at most 255 characters. Named entries are updated in place.
        type: str
      expiration_time:
        description:
          - When the entry expires, as an RFC 3339 timestamp in the future, for example V(2030-01-31T12:00:00Z).
        type: str
      expires_in:
        description:
          - Make the entry expire after this duration, for example V(5m), V(1h) or V(2d), as
            C(gcloud sql connect) does.
          - The entry is renewed only when less than half of the duration remains, so a
            repeated run shortly after does not change it.
        type: str
  exclusive:
    description:
      - With V(true) the authorized networks become exactly O(authorized_networks); entries
        not listed are removed. Only with O(state=present).
    type: bool
    default: false
  managed_name_prefix:
    description:
      - Entries whose name starts with this prefix belong to this task. Those that
        O(authorized_networks) no longer lists are removed, for example the addresses of
        Kubernetes nodes that are gone (their IPs may be given to someone else). Entries with
        other names are left alone.
      - Use a prefix nobody else names entries with. Only with O(state=present) and
        O(authorized_networks).
    type: str
  ssl_mode:
    description:
      - How the instance enforces SSL/TLS. C(requireSsl) is set to the value the API documents
        for the mode (V(false) for the first two, V(true) for V(TRUSTED_CLIENT_CERTIFICATE_REQUIRED)).
      - Unset leaves the instance's mode as it is.
      - The modes are ordered from weakest to strongest as listed. A mode weaker than the
        instance's fails the task before anything is written, unless O(allow_ssl_downgrade=true).
    type: str
    choices: [ALLOW_UNENCRYPTED_AND_ENCRYPTED, ENCRYPTED_ONLY, TRUSTED_CLIENT_CERTIFICATE_REQUIRED]
  allow_ssl_downgrade:
    description:
      - Allow O(ssl_mode) to weaken the instance's SSL mode (for example from
        V(TRUSTED_CLIENT_CERTIFICATE_REQUIRED) to V(ENCRYPTED_ONLY), which stops requiring client
        certificates).
    type: bool
    default: false
  ipv4_enabled:
    description: Whether the instance has a public IPv4 address.
    type: bool
attributes:
  check_mode:
    support: full
    description: Reads the instance and reports the change without sending the PATCH.
  diff_mode:
    support: full
    description: Shows the authorized networks, SSL mode and public IP before and after.
"""

EXAMPLES = r"""
- name: Let the office and a temporary admin address in, require TLS
  statefuldb.k8s.cloudsql_access:
    project: my-project
    instance: orders-db
    auth_kind: serviceaccount
    service_account_file: /etc/gcp/sa.json
    authorized_networks:
      - name: office
        value: 203.0.113.0/24
      - name: admin-laptop
        value: 198.51.100.7
        expires_in: 1h
    ssl_mode: ENCRYPTED_ONLY

- name: Remove the admin entry again
  statefuldb.k8s.cloudsql_access:
    project: my-project
    instance: orders-db
    state: absent
    authorized_networks:
      - name: admin-laptop

- name: Authorize the current nodes; entries named node-* for nodes that are gone are removed
  statefuldb.k8s.cloudsql_access:
    project: my-project
    instance: orders-db
    managed_name_prefix: "statefuldb-node-"
    authorized_networks:
      - {name: statefuldb-node-pool-a-1, value: 198.51.100.21}
      - {name: statefuldb-node-pool-a-2, value: 198.51.100.22}

- name: Allow exactly these networks, nothing else
  statefuldb.k8s.cloudsql_access:
    project: my-project
    instance: orders-db
    exclusive: true
    authorized_networks:
      - {name: office, value: 203.0.113.0/24}
"""

RETURN = r"""
authorized_networks:
  description: The instance's authorized networks after the task (predicted in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "office", "value": "203.0.113.0/24"}, {"name": "tmp", "value": "198.51.100.7", "expiration_time": "2030-01-01T10:00:00.000Z"}]
ssl_mode:
  description: The SSL mode in effect after the task.
  returned: always
  type: str
  sample: ENCRYPTED_ONLY
ipv4_enabled:
  description: Whether the instance has a public IPv4 address after the task.
  returned: always
  type: bool
settings_version:
  description: The instance's settingsVersion after the task.
  returned: always
  type: str
attempts:
  description: How many PATCH requests were sent (more than 1 after concurrent changes).
  returned: always
  type: int
operation:
  description: The finished update operation.
  returned: changed and not in check mode
  type: dict
  sample: {"name": "a1b2c3", "operationType": "UPDATE", "status": "DONE", "targetLink": "https://..."}
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.access import ensure_access
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.client import cloudsql_module, exit_with
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.networks import (
    NetworkInputError,
    normalize_entries,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.ssl import SSL_MODES


def main():
    module = cloudsql_module(
        instance=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        authorized_networks=dict(type="list", elements="dict", options=dict(
            value=dict(type="str"),
            name=dict(type="str"),
            expiration_time=dict(type="str"),
            expires_in=dict(type="str"),
        )),
        exclusive=dict(type="bool", default=False),
        managed_name_prefix=dict(type="str"),
        ssl_mode=dict(type="str", choices=list(SSL_MODES)),
        allow_ssl_downgrade=dict(type="bool", default=False),
        ipv4_enabled=dict(type="bool"),
    )
    params = module.params
    desired = None
    try:
        if params["state"] == "absent" and params["exclusive"]:
            raise NetworkInputError("exclusive: true cannot be combined with state: absent; use "
                                    "state: present with the complete list instead")
        if params["authorized_networks"] is not None:
            desired = normalize_entries(params["authorized_networks"], state=params["state"])
    except NetworkInputError as exc:
        module.fail_json(msg="Invalid authorized_networks: %s" % exc)
    prefix = params["managed_name_prefix"]
    if prefix is not None and not prefix.strip():
        module.fail_json(msg="managed_name_prefix must not be empty: every named entry would be this "
                             "task's to remove; use exclusive=true for that")
    if prefix is not None and (params["state"] != "present" or params["authorized_networks"] is None):
        module.fail_json(msg="managed_name_prefix needs state=present and authorized_networks (the "
                             "complete list of the entries with that prefix)")
    if params["state"] == "absent" and (params["ssl_mode"] or params["ipv4_enabled"] is not None):
        module.fail_json(msg="ssl_mode and ipv4_enabled are only used with state: present")
    exit_with(module, lambda client: ensure_access(
        client, desired, state=params["state"], exclusive=params["exclusive"], ssl_mode=params["ssl_mode"],
        ipv4_enabled=params["ipv4_enabled"], check_mode=module.check_mode,
        allow_ssl_downgrade=params["allow_ssl_downgrade"], managed_prefix=params["managed_name_prefix"]),
        (NetworkInputError,))


if __name__ == "__main__":
    main()
