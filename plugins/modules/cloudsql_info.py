#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudsql_info
short_description: Everything a client needs to connect to a Cloud SQL instance
description:
  - Reads a Cloud SQL instance through the Admin API and returns its state, IP addresses by type,
    connection name, SSL mode, authorized networks and server CA certificate.
  - Optionally lists its users and databases.
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.gcp_auth
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.info
options:
  instance:
    description: Name of the Cloud SQL instance.
    type: str
    required: true
  gather:
    description: Extra collections to list.
    type: list
    elements: str
    choices: [users, databases]
    default: []
attributes:
  check_mode:
    support: full
    description: Read only; runs the same in check mode.
"""

EXAMPLES = r"""
- name: Where and how to connect
  statefuldb.k8s.cloudsql_info:
    project: my-project
    instance: orders-db
  register: orders_db

- name: Show the public address
  ansible.builtin.debug:
    msg: "{{ orders_db.instance.public_ip_address }}:{{ orders_db.instance.port }}"
"""

RETURN = r"""
instance:
  description: A summary of the instance.
  returned: always
  type: dict
  contains:
    name: {description: Instance name., type: str, returned: always}
    state: {description: "Instance state, for example RUNNABLE.", type: str, returned: always}
    database_version: {description: "For example MYSQL_8_0.", type: str, returned: always}
    connection_name: {description: "project:region:instance, for the Cloud SQL connectors.", type: str, returned: always}
    ip_addresses: {description: "All addresses as {type, ip_address}.", type: list, elements: dict, returned: always,
                   sample: [{"type": "PRIMARY", "ip_address": "203.0.113.10"}]}
    ip_addresses_by_type: {description: "Addresses grouped by type (PRIMARY, OUTGOING, PRIVATE).", type: dict, returned: always,
                           sample: {"PRIMARY": ["203.0.113.10"], "OUTGOING": ["203.0.113.11"]}}
    public_ip_address: {description: The first PRIMARY address., type: str, returned: always}
    private_ip_address: {description: The first PRIVATE address., type: str, returned: always}
    outgoing_ip_address: {description: The first OUTGOING address., type: str, returned: always}
    port: {description: The MySQL port (3306)., type: int, returned: always}
    ssl_mode: {description: The SSL mode in effect., type: str, returned: always}
    require_ssl: {description: The legacy requireSsl flag., type: bool, returned: always}
    ipv4_enabled: {description: Whether a public IPv4 address is assigned., type: bool, returned: always}
    authorized_networks: {description: "Entries as {value, name, expiration_time}.", type: list, elements: dict, returned: always,
                          sample: [{"value": "198.51.100.0/24", "name": "office", "expiration_time": null}]}
    settings_version: {description: The settings version., type: str, returned: always}
    server_ca_cert: {description: "The server CA: cert (PEM), common_name, sha1_fingerprint, expiration_time.", type: dict, returned: always,
                    sample: {"cert": "-----BEGIN CERTIFICATE-----\n...", "common_name": "C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA",
                             "sha1_fingerprint": "4a1c...", "expiration_time": "2035-01-01T00:00:00Z"}}
  sample: {"name": "orders-db", "state": "RUNNABLE", "public_ip_address": "203.0.113.10", "port": 3306}
users:
  description: The instance's users (name, host, type) when O(gather) has V(users).
  returned: when requested
  type: list
  elements: dict
  sample: [{"name": "app", "host": "%", "type": "BUILT_IN"}]
databases:
  description: The instance's databases (name, charset, collation) when O(gather) has V(databases).
  returned: when requested
  type: list
  elements: dict
  sample: [{"name": "orders", "charset": "utf8mb4", "collation": "utf8mb4_0900_ai_ci"}]
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.client import cloudsql_module, exit_with
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.databases import public_database
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.info import summarize_instance
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.users import public_user


def gather(client, collections):
    """The instance summary and the collections asked for."""
    result = dict(changed=False, instance=summarize_instance(client.get_instance()))
    if "users" in collections:
        result["users"] = [public_user(u) for u in client.list_users()]
    if "databases" in collections:
        result["databases"] = [public_database(d) for d in client.list_databases()]
    return result


def main():
    module = cloudsql_module(
        instance=dict(type="str", required=True),
        gather=dict(type="list", elements="str", default=[], choices=["users", "databases"]),
    )
    exit_with(module, lambda client: gather(client, module.params["gather"]))


if __name__ == "__main__":
    main()
