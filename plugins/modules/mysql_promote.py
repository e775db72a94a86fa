#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: mysql_promote
short_description: Move the primary role of a MariaDB or MySQL GTID cluster (switchover, failover)
description:
  - The SQL core of switchover and failover for the C(statefuldb.k8s.mysql_cluster) role, usable alone for
    any primary/replica set with GTID replication. It changes which server takes writes; recording the new
    primary (ConfigMap, labels, Services) and repointing the other members are the caller's job (see notes).
  - O(action=switchover) moves the role from the healthy primary O(primary) to the replica O(target) without
    losing an acknowledged write. Before anything is written it refuses a target that does not replicate
    from the primary, whose replication threads are not both running, that lags more than O(max_lag)
    seconds, that has transactions the primary never had, or that cannot be a source (no binary log).
  - "Switchover steps: 1. the primary is made read-only (C(read_only=ON); MySQL C(super_read_only=ON)) and every
    other client connection on it is ended with C(KILL CONNECTION) (replication and server threads are kept):
    on MariaDB C(read_only) does not stop accounts with C(SUPER) or C(READ ONLY ADMIN) such as root, and ending
    the connections rolls back their in-flight transactions, which were never acknowledged; then its GTID
    position is read (MariaDB C(@@gtid_binlog_pos), MySQL C(@@gtid_executed)). 2. The module waits up to
    O(timeout) seconds until the target applied that position. 3. The primary's position is read again: if it
    moved (a privileged writer slipped in) the module refuses, naming the GTIDs. 4. The target is promoted:
    C(STOP REPLICA), C(RESET REPLICA ALL) (C(RESET SLAVE ALL) before MariaDB 10.5.1), C(read_only=OFF).
    5. On MariaDB the old primary gets C(SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos) so that it
    can later replicate with C(MASTER_USE_GTID=slave_pos) after its own writes. It stays read-only."
  - Any refusal or failure in steps 2 and 3 makes the old primary writable again (the cluster is never left
    without a writer by a refused switchover); RV(actions) and the message say so.
  - O(target) equal to O(primary) is a no-op (RV(changed=false)) when that member is writable and has no
    replication configured, so re-running a finished switchover is idempotent.
  - O(action=failover) promotes a replica when the recorded primary is gone or broken. It refuses while the
    primary answers as a writable server, while it answers read-only but holds transactions the chosen replica
    lacks, and while any other member does not answer (it might hold transactions the others lack), unless
    O(force). It reads every reachable replica's GTIDs, received and
    applied (MariaDB C(gtid_binlog_state), C(gtid_slave_pos) and C(Gtid_IO_Pos); MySQL C(gtid_executed) and
    C(Retrieved_Gtid_Set)), chooses the replica that holds every GTID any other has (on a tie, the first listed in
    O(members)), stops its IO thread, waits up to O(timeout) until its SQL thread applied everything it
    received (its relay log), and promotes it as in the switchover.
  - The failover reports what may have been lost (RV(may_have_lost)) as far as it can be known without the
    dead primary, and how far every other member is behind the new primary (RV(behind)).
  - The SQL differs by flavor and version (MariaDB 10.0.2+, MySQL 8.0.23+ incl. 8.4 LTS); it is chosen at
    run time. Every statement run is returned in RV(queries), prefixed with the member's name.
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.changes
  - statefuldb.k8s.mysql_login.tls
  - statefuldb.k8s.mysql_members
attributes:
  check_mode:
    support: full
    details: Every check and read runs; the writes are only listed in RV(queries) and no wait happens.
options:
  action:
    description:
      - V(switchover) moves the role from the healthy O(primary) to O(target); V(failover) promotes a replica
        after the primary failed.
    type: str
    required: true
    choices: [switchover, failover]
  primary:
    description: Name of the member currently recorded as primary.
    type: str
    required: true
  target:
    description:
      - Name of the member to promote. Required for O(action=switchover).
      - Optional for O(action=failover); when not set the most advanced reachable replica is chosen (on a tie, the
        first listed in O(members)). When set it must hold every GTID any other reachable replica holds (or
        O(force)).
    type: str
  login_user:
    description: Account used on every member; it needs C(SUPER) (MariaDB also C(READ ONLY ADMIN) from 10.5.2,
      MySQL C(SYSTEM_VARIABLES_ADMIN), C(CONNECTION_ADMIN) and C(REPLICATION_SLAVE_ADMIN)) and C(PROCESS).
    type: str
    default: root
  login_password:
    description: Password of O(login_user). Never logged.
    type: str
  connect_timeout:
    description: Seconds one connection attempt may take; a member that does not answer within it counts as
      unreachable in a failover.
    type: int
    default: 5
  max_lag:
    description: O(action=switchover) refuses a target whose C(Seconds_Behind_Master/Source) is above this.
    type: int
    default: 10
  timeout:
    description:
      - O(action=switchover) - seconds the target may take to apply the primary's last GTID position while the
        primary is read-only; after that the switchover is refused and the primary is writable again.
      - O(action=failover) - seconds the chosen replica may take to apply its relay log.
    type: int
    default: 60
  force:
    description:
      - O(action=failover) only. Fail over although the recorded primary still answers as a writable server (it
        is then made read-only and its clients' connections ended first), although it answers read-only with
        transactions the chosen replica lacks (they are reported in RV(may_have_lost)), although some members do not answer,
        to a O(target) that lacks GTIDs another replica has, between replicas that diverged (the one holding the
        most transactions is chosen), or without the part of the relay log the chosen replica could not apply.
        Each such case is reported as a warning and in RV(may_have_lost).
    type: bool
    default: false
notes:
  - After a promotion the caller must record O(target) (RV(primary)) as primary and repoint every other member,
    the old primary included, with M(statefuldb.k8s.mysql_replication) O(statefuldb.k8s.mysql_replication#module:role=replica)
    and O(statefuldb.k8s.mysql_replication#module:source_host) set to the new primary's stable name. This module
    does not repoint anything; the old primary stays read-only until then.
  - After a failover the old primary may hold transactions nobody else received; when it comes back
    M(statefuldb.k8s.mysql_replication) refuses it as having errant GTIDs and keeps its data; it never
    rejoins silently.
  - A switchover whose old primary is written to by a privileged account between the last check and the
    promotion reports those GTIDs as a warning; they stay on the old primary, which
    M(statefuldb.k8s.mysql_replication) then refuses to repoint until they are applied on the new primary.
  - Ending client connections on the old primary rolls back transactions that were in flight; they were never
    acknowledged. Clients have to reconnect (to the new primary through the caller's Service).
  - C(SET GLOBAL) does not survive a restart; the caller's server configuration should set C(read_only) from
    the recorded role.
  - On MySQL the module compares GTID sets in Python (the same results as C(GTID_SUBSET)/C(GTID_SUBTRACT)),
    tagged GTIDs of 8.3+ included.
requirements:
  - PyMySQL
"""

EXAMPLES = r"""
- name: Switch the primary role from mysql-0 to mysql-1
  statefuldb.k8s.mysql_promote:
    action: switchover
    members:
      - {name: mysql-0, host: 10.244.0.10}
      - {name: mysql-1, host: 10.244.0.11}
      - {name: mysql-2, host: 10.244.0.12}
    primary: mysql-0
    target: mysql-1
    login_password: "{{ root_password }}"
    timeout: 30
  register: switch

- name: The primary mysql-0 died; promote the most advanced replica
  statefuldb.k8s.mysql_promote:
    action: failover
    members: "{{ cluster_members }}"
    primary: mysql-0
    login_password: "{{ root_password }}"
  register: failover

- name: Repoint every other member at the new primary
  statefuldb.k8s.mysql_replication:
    role: replica
    login_host: "{{ item.host }}"
    login_password: "{{ root_password }}"
    source_host: "{{ failover.primary }}.mysql.db.svc.cluster.local"
    source_login_host: "{{ (cluster_members | selectattr('name', 'equalto', failover.primary) | first).host }}"
    replication_user: repl
    replication_password: "{{ replication_password }}"
    read_only: true
  loop: "{{ cluster_members | rejectattr('name', 'equalto', failover.primary) }}"
"""

RETURN = r"""
changed:
  description: Whether a member was (in check mode, would be) promoted. False for a switchover to the member
    that already is the working primary.
  returned: always
  type: bool
previous_primary:
  description: The member that was recorded as primary (O(primary)).
  returned: success
  type: str
primary:
  description: The member that is the primary now (the one to record).
  returned: success
  type: str
  sample: mysql-1
flavor:
  description: V(mariadb) or V(mysql).
  returned: success
  type: str
gtid_position:
  description:
    - O(action=switchover) - the old primary's GTID position the new primary applied before it was promoted
      (what was handed over).
    - O(action=failover) - the new primary's GTID position when it was promoted.
  returned: success
  type: str
  sample: 0-1-1042
new_primary_gtid_position:
  description: The new primary's GTID position after the promotion.
  returned: success
  type: str
write_unavailable_seconds:
  description: O(action=switchover) - seconds from read_only ON on the old primary to read_only OFF on the new
    one (0 for the no-op, null in check mode and for a failover).
  returned: success
  type: float
may_have_lost:
  description:
    - O(action=failover) - what is known about acknowledged transactions that may be lost.
    - C(position) the new primary's position; C(semi_sync) V(off) (no replica had semi-sync enabled, so the old
      primary acknowledged without waiting), V(on) (read from the old primary itself, when it answered) or
      V(unknown) (replicas had it enabled, but a primary falls back to asynchronous after its timeout and the
      replicas cannot tell); C(unapplied) GTIDs received but not applied (only with O(force));
      C(old_primary_extra) GTIDs the answering old primary has that the new one lacks; C(unreachable);
      C(warning) the sentence also shown as a warning.
  returned: success, O(action=failover)
  type: dict
  sample: {"position": "0-1-1042", "semi_sync": "off", "unapplied": "", "old_primary_extra": null,
           "unreachable": [], "warning": "Semi-synchronous replication was off ..."}
behind:
  description: O(action=failover) - per other member, the GTIDs the new primary has that it lacks (empty when
    none; on MariaDB the last GTID of each domain and server id it lacks, on MySQL the GTID set), or
    V(unreachable).
  returned: success, O(action=failover)
  type: dict
  sample: {"mysql-2": "0-1-1042", "mysql-0": "unreachable"}
unreachable:
  description: O(action=failover) - members that did not answer.
  returned: success, O(action=failover)
  type: list
  elements: str
  sample: ["mysql-0"]
actions:
  description: What the module did, one sentence each (also when it refused after a change, for example the
    old primary made writable again).
  returned: always
  type: list
  elements: str
  sample: ["set mysql-0 read-only (SET GLOBAL read_only = ON)",
           "promoted mysql-1: stopped replication, removed its replication configuration (RESET REPLICA ALL), read_only OFF"]
queries:
  description: Every statement run (in check mode, writes that would run), each prefixed C(/* member */).
  returned: always
  type: list
  elements: str
  sample: ["/* mysql-0 */ SET GLOBAL read_only = ON", "/* mysql-1 */ RESET REPLICA ALL"]
diff:
  description: Which member is primary and the read_only of the members involved, before and after.
  returned: diff mode
  type: dict
  sample: {"before": {"primary": "mysql-0", "read_only": {"mysql-0": false, "mysql-1": true}},
           "after": {"primary": "mysql-1", "read_only": {"mysql-0": true, "mysql-1": false}}}
errant_gtids:
  description: Transactions the target has and the primary never had, when refused for that reason.
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.args import MYSQL_MEMBERS_ARG_SPEC, MYSQL_TLS_ARG_SPEC
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.finish import run_and_exit
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.promote import run


def argument_spec():
    spec = dict(
        action=dict(type="str", required=True, choices=["switchover", "failover"]),
        primary=dict(type="str", required=True),
        target=dict(type="str"),
        login_user=dict(type="str", default="root"),
        login_password=dict(type="str", no_log=True),
        connect_timeout=dict(type="int", default=5),
        max_lag=dict(type="int", default=10),
        timeout=dict(type="int", default=60),
        force=dict(type="bool", default=False),
    )
    spec.update(MYSQL_MEMBERS_ARG_SPEC)
    spec.update(MYSQL_TLS_ARG_SPEC)
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("action", "switchover", ["target"])])
    run_and_exit(module, run, actions=[])


if __name__ == "__main__":
    main()
