#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: mysql_seed
short_description: Seed a MariaDB or MySQL member from binary logs or from a copy of a healthy member
description:
  - A new or re-initialised member replicates from the source's binary logs only while they still hold every
    transaction it lacks. Once the source purged them (MySQL keeps them 30 days by default), the member must
    start from a physical copy of a healthy member instead.
  - O(action=plan) only reads. It compares the member's GTIDs with what the source purged (MySQL
    C(@@gtid_purged); MariaDB the GTID list at the start of the oldest binary log, C(BINLOG_GTID_POS)) and
    returns RV(method) V(binlog) or V(clone) with the reason. With O(mode=binlog), a member the logs do not
    cover is refused with a message naming the missing GTIDs, before anything changes.
  - O(action=clone) (MySQL) replaces the member's data with the donor's through the CLONE plugin
    (C(CLONE INSTANCE FROM)), waits until the member restarted on the copy (its pod's restart policy starts it
    again) and returns its GTID position. It refuses a member that holds a transaction the donor never had -
    so a copy never deletes the only copy of anything. Both servers need the clone plugin loaded
    (C(plugin_load_add = mysql_clone.so)); O(login_user) must exist on the donor with C(BACKUP_ADMIN).
  - MariaDB has no server-side clone; the C(statefuldb.k8s.mysql_cluster) role copies MariaDB members with
    C(mariadb-backup) through the pods and uses this module's O(action=plan).
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.mysql_login
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.changes
  - statefuldb.k8s.mysql_login.tls
attributes:
  check_mode:
    support: full
    details: O(action=clone) runs its checks and lists the clone statements in RV(queries) without running them.
options:
  action:
    description:
      - V(plan) decides how the member gets the source's history; V(clone) copies the donor into it (MySQL).
    type: str
    required: true
    choices: [plan, clone]
  mode:
    description:
      - With O(action=plan). V(auto) chooses a copy exactly when the source's binary logs do not cover the
        member; V(clone) also chooses a copy for a member that holds no data; V(binlog) never chooses a copy.
    type: str
    choices: [auto, clone, binlog]
    default: auto
  source_login_host:
    description:
      - With O(action=plan), the replication source as this module reaches it. Logged in to as O(login_user).
    type: str
  source_login_port:
    description:
      - Port for O(source_login_host).
    type: int
    default: 3306
  donor_host:
    description:
      - With O(action=clone), the member to copy, as the member's own server reaches it (for example
        C(mysql-1.mysql.db.svc.cluster.local)).
    type: str
  donor_port:
    description:
      - Port of O(donor_host).
    type: int
    default: 3306
  donor_login_host:
    description:
      - The donor as this module reaches it, when it differs from O(donor_host) (to compare GTIDs).
    type: str
  donor_login_port:
    description:
      - Port for O(donor_login_host). Defaults to O(donor_port).
    type: int
  wait_timeout:
    description:
      - With O(action=clone), seconds to wait until the member runs on the copy.
    type: int
    default: 600
notes:
  - The same O(login_user) and O(login_password) log in to the member, the source and the donor.
"""

EXAMPLES = r"""
- name: Decide how mysql-3 gets the primary's history
  statefuldb.k8s.mysql_seed:
    action: plan
    login_host: 10.244.1.7
    login_password: "{{ mysql_root_password }}"
    source_login_host: 10.244.0.10
  register: seed

- name: Copy mysql-1 into mysql-3 when the primary purged what mysql-3 lacks (MySQL)
  statefuldb.k8s.mysql_seed:
    action: clone
    login_host: 10.244.1.7
    login_password: "{{ mysql_root_password }}"
    donor_host: mysql-1.mysql.db.svc.cluster.local
    donor_login_host: 10.244.2.5
  when: seed.method == 'clone'
"""

RETURN = r"""
method:
  description: V(binlog) (replicate from the source's binary logs) or V(clone) (start from a copy).
  returned: success
  type: str
reason:
  description: Why O(action=plan) chose RV(method).
  returned: success with O(action=plan)
  type: str
missing:
  description: GTIDs the member lacks that the source's binary logs no longer hold (empty when covered).
  returned: success with O(action=plan)
  type: str
gtid_position:
  description: The member's GTIDs (MySQL C(gtid_executed); MariaDB binary log and slave positions), after a clone.
  returned: success
  type: str
flavor:
  description: V(mariadb) or V(mysql).
  returned: success
  type: str
queries:
  description: Every statement run (or, in check mode, that would run), passwords masked.
  returned: always
  type: list
  elements: str
  sample: ["SET GLOBAL clone_valid_donor_list = 'mysql-1.mysql:3306'",
           "CLONE INSTANCE FROM 'root'@'mysql-1.mysql':3306 IDENTIFIED BY '********'"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.args import MYSQL_LOGIN_ARG_SPEC
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.finish import run_and_exit
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.seed import run


def argument_spec():
    spec = dict(MYSQL_LOGIN_ARG_SPEC)
    spec.update(
        action={"type": "str", "required": True, "choices": ["plan", "clone"]},
        mode={"type": "str", "default": "auto", "choices": ["auto", "clone", "binlog"]},
        source_login_host={"type": "str"},
        source_login_port={"type": "int", "default": 3306},
        donor_host={"type": "str"},
        donor_port={"type": "int", "default": 3306},
        donor_login_host={"type": "str"},
        donor_login_port={"type": "int"},
        wait_timeout={"type": "int", "default": 600},
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("action", "plan", ["source_login_host"]), ("action", "clone", ["donor_host"])],
    )
    run_and_exit(module, run)


if __name__ == "__main__":
    main()
