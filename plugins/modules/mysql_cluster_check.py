#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysql_cluster_check
short_description: Wait until cluster members answer SQL; prove replication with a marker row
description:
  - Used by the C(statefuldb.k8s.mysql_cluster) role; usable alone for any primary/replica set.
  - O(action=wait) connects to every member until each answers a C(SELECT) or O(timeout) passes.
    Kubernetes readiness alone is no proof that the server accepts logins. Never reports a change.
  - O(action=verify) upserts one marker row on the primary (C(changed) only when the stored value
    differs), then on every replica waits until it has applied the primary's current GTID position
    and reads the marker back. A healthy cluster verifies with C(changed=false) while every run
    still proves that each replica is caught up.
options:
  action:
    description: What to do.
    type: str
    choices: [wait, verify]
    required: true
  login_user:
    description: Account to log in with on every member.
    type: str
    default: root
  login_password:
    description: Password of O(login_user). Never logged.
    type: str
  connect_timeout:
    description: Seconds one connection attempt may take.
    type: int
    default: 5
  timeout:
    description: Seconds to wait for all members to answer, or for the replicas to catch up.
    type: int
    default: 300
  database:
    description: Database of the marker table C(marker) (O(action=verify)).
    type: str
    default: statefuldb_cluster
  marker:
    description: Value the marker row must hold (O(action=verify)).
    type: str
    default: ""
notes:
  - Connects to every member with the same TLS options (O(ca_cert), O(client_cert), O(client_key),
    O(check_hostname)) as M(statefuldb.k8s.mysql_replication).
  - Supports check mode; in check mode the marker is not written and replicas are not checked when it
    would change.
requirements:
  - PyMySQL
attributes:
  check_mode:
    support: full
    details: The marker is not written, and replicas are not checked when it would change.
  diff_mode:
    support: none
version_added: 0.1.0
extends_documentation_fragment:
  - statefuldb.k8s.attributes
  - statefuldb.k8s.mysql_login.tls
  - statefuldb.k8s.mysql_members.with_primary
author:
  - statefuldb maintainers (@statefuldb)
"""

EXAMPLES = r"""
- name: Wait until the three members accept logins
  statefuldb.k8s.mysql_cluster_check:
    action: wait
    members:
      - {name: mysql-0, host: 10.244.0.10, primary: true}
      - {name: mysql-1, host: 10.244.0.11}
    login_password: "{{ root_password }}"
    timeout: 120

- name: Prove replication end to end, over TLS verified against the cluster's CA
  statefuldb.k8s.mysql_cluster_check:
    action: verify
    members: "{{ cluster_members }}"
    login_password: "{{ root_password }}"
    ca_cert: /etc/ssl/db/ca.pem
    check_hostname: false  # the members are reached by pod IP
    marker: "db/mysql: 2 members"
"""

RETURN = r"""
members:
  description:
    - For O(action=wait), each member's C(name), C(host), C(port), C(server_id), C(version),
      C(read_only), C(flavor), C(gtid_position) (empty when the server holds no transaction) and
      C(replicating) (both replication threads run).
    - For O(action=verify), each replica's C(name), C(host), C(caught_up), C(marker_seen) and
      C(seconds) it took.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "mysql-1", "host": "mysql-1.mysql", "caught_up": true, "marker_seen": true, "seconds": 0.212}]
queries:
  description: The statements that write (the marker upsert), when the marker had to change.
  returned: always
  type: list
  elements: str
  sample: ["CREATE DATABASE IF NOT EXISTS `statefuldb_cluster`",
           "INSERT INTO `statefuldb_cluster`.`marker` (id, value) VALUES (1, %s) ON DUPLICATE KEY UPDATE value = VALUES(value)"]
gtid_position:
  description: The primary's GTID position the replicas were checked against (O(action=verify)).
  returned: when O(action=verify)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.validation import cluster_check_params_error
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.args import (
    MYSQL_MEMBERS_WITH_PRIMARY_ARG_SPEC,
    MYSQL_TLS_ARG_SPEC,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import (
    HAS_PYMYSQL,
    ConnectionSettings,
    connect,
    is_transient,
    pymysql,
    settings_for,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql_cluster.check import CheckError, verify, wait_all


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["wait", "verify"]),
            login_user=dict(type="str", default="root"),
            login_password=dict(type="str", no_log=True),
            connect_timeout=dict(type="int", default=5),
            timeout=dict(type="int", default=300),
            database=dict(type="str", default="statefuldb_cluster"),
            marker=dict(type="str", default=""),
            **MYSQL_MEMBERS_WITH_PRIMARY_ARG_SPEC,
            **MYSQL_TLS_ARG_SPEC
        ),
        supports_check_mode=True,
    )
    if not HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL"))
    p = module.params
    error = cluster_check_params_error(p)
    if error:
        module.fail_json(msg=error)

    # One settings object for every member: its TLS files are checked (and loaded) once, before connecting.
    base = ConnectionSettings(None, 3306, p["login_user"], p["login_password"], connect_timeout=p["connect_timeout"],
                              read_timeout=max(p["timeout"], 30) + 5,
                              **{option: p[option] for option in MYSQL_TLS_ARG_SPEC})
    try:
        base.tls_context()
    except MySQLReplicationError as exc:
        module.fail_json(msg=exc.msg, members=[], queries=[])

    def connect_member(member):
        return connect(settings_for(base, member["host"], member["port"], base.user, base.password),
                       purpose="member %s" % member["name"])

    try:
        if p["action"] == "wait":
            results = wait_all(p["members"], connect_member, p["timeout"],
                               errors=(MySQLReplicationError, pymysql.err.MySQLError), is_transient=is_transient)
            module.exit_json(changed=False, members=results, queries=[])
        changed, queries, results, position = verify(p["members"], connect_member, p["database"], p["marker"],
                                                     p["timeout"], check_mode=module.check_mode)
    except CheckError as exc:
        module.fail_json(msg=str(exc), changed=exc.changed, members=exc.members, queries=exc.queries,
                         gtid_position=exc.gtid_position)
    except (MySQLReplicationError, pymysql.err.MySQLError) as exc:
        module.fail_json(msg="verifying replication failed: %s" % (exc,), queries=[])
    module.exit_json(changed=changed, members=results, queries=queries, gtid_position=position)


if __name__ == "__main__":
    main()
