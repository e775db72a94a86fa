#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: mysql_replication
short_description: Make a MariaDB or MySQL server a GTID replication primary or replica
description:
  - With O(role=primary), checks that the server can be a GTID replication source (binary log on;
    on MySQL also C(gtid_mode=ON) and C(enforce_gtid_consistency=ON)), ensures a replication
    account holding only C(REPLICATION SLAVE, REPLICATION CLIENT), and returns the GTID position.
  - With O(role=replica), points the server at O(source_host):O(source_port) with GTID
    auto-positioning (MariaDB C(MASTER_USE_GTID=slave_pos), MySQL C(SOURCE_AUTO_POSITION=1)),
    starts replication and waits until it has applied everything the source had when the module
    started.
  - A replica already replicating from that source with those settings is not touched
    (RV(changed=false)); it is never stopped and never reset (the module never runs
    C(RESET SLAVE/REPLICA)). Stopped or failed threads are started again and RV(actions) says what
    was repaired. A replica whose IO thread fails with access denied gets the password again.
  - Before changing anything the module logs in to the source as O(replication_user) and refuses,
    with a message saying what to do, a replica pointed at itself, equal C(server_id)s, a source
    without binary log (or GTIDs on MySQL), wrong credentials, an unreachable source, and errant
    transactions (GTIDs on the replica that the source never had).
  - The SQL differs by flavor and version (MariaDB 10.0.2+ incl. 10.5+ C(REPLICA) statements and
    11.x; MySQL 8.0.23+ and 8.4 LTS, which removed C(CHANGE MASTER), C(SHOW SLAVE STATUS),
    C(START SLAVE) and C(SHOW MASTER STATUS)); it is chosen at run time from C(VERSION()).
    Older MySQL is refused.
  - Every statement run is returned in RV(queries) with passwords masked. In check mode only reads
    run; the writes that would run are listed in RV(queries).
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.mysql_login
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.changes
  - statefuldb.k8s.mysql_login.tls
options:
  role:
    description:
      - V(primary) prepares a replication source, V(replica) makes the server replicate from
        O(source_host).
    type: str
    required: true
    choices: [primary, replica]
  replication_user:
    description:
      - The account replicas log in to the primary with.
      - With O(role=primary) the account is created (or its privileges reset to exactly
        C(REPLICATION SLAVE, REPLICATION CLIENT)); without it the module only checks the server and
        reports its position.
      - Required with O(role=replica); the module also uses it to read the source's server id and
        GTIDs.
    type: str
  replication_password:
    description:
      - Password of O(replication_user). Never logged, masked in RV(queries).
      - With O(role=primary) an existing account's password is only changed when this one does not
        work (see O(update_password)); a working password is never re-set. This is checked on the
        server's stored hash for C(mysql_native_password), C(caching_sha2_password),
        C(sha256_password) and MariaDB C(ed25519), so it does not depend on whether
        O(replication_user_host) admits the machine running the module. For other plugins (for
        example MariaDB C(parsec)) a login to O(login_host) as the account that succeeds proves it;
        when that login is refused the password is left unchanged with a warning.
      - The password is set with C(ALTER USER) on MySQL and C(SET PASSWORD) on MariaDB, which keeps
        the account's authentication plugin.
    type: str
  replication_user_host:
    description:
      - Host part of the replication account (O(role=primary)), for example V(10.244.%).
    type: str
    default: '%'
  update_password:
    description:
      - V(always) sets the password of an existing account when O(replication_password) does not
        work for it (reported in RV(actions) and RV(password_changed)). Healthy replicas keep the
        old password until their IO thread reconnects and fails; give them the new one in the same
        run with O(role=replica) and O(refresh_password=true).
      - V(on_create) only sets it when creating the account and warns on a mismatch.
    type: str
    choices: [always, on_create]
    default: always
  refresh_password:
    description:
      - With O(role=replica), give a replica that already replicates from the source
        O(replication_password) again. Set it when the password of O(replication_user) just changed
        on the source (RV(password_changed) of the O(role=primary) task), so the replica does not
        fail at its next reconnect.
      - The replica is never reset and keeps its position. On MySQL only the IO thread is stopped;
        on MariaDB, which refuses to change the password while either thread runs, both threads are
        stopped. Then only the password is changed and replication is started again. Reported as
        changed.
    type: bool
    default: false
  source_host:
    description:
      - The primary, as the replica server itself reaches it (for example
        C(mysql-0.mysql.db.svc.cluster.local)). Required with O(role=replica).
    type: str
  source_port:
    description:
      - Port of the primary, as the replica server reaches it.
    type: int
    default: 3306
  source_login_host:
    description:
      - Address the module (on the Ansible host) uses to reach the primary for its checks, when it
        differs from O(source_host) (for example the pod IP when O(source_host) is a cluster DNS
        name). Defaults to O(source_host).
    type: str
  source_login_port:
    description:
      - Port for O(source_login_host). Defaults to O(source_port).
    type: int
  source_login_user:
    description:
      - Account the module logs in to the source with for its checks (server id, binary log,
        GTIDs). Defaults to O(replication_user), which also proves the replication credentials
        before anything changes.
      - Set it (with O(source_login_password)) when O(replication_user_host) does not admit the
        Ansible host; wrong replication credentials are then reported from the replica's IO thread.
    type: str
  source_login_password:
    description:
      - Password of O(source_login_user). Never logged.
    type: str
  wait:
    description:
      - With O(role=replica), wait until the replica applied every transaction the source had when
        the module started. Fails at once when a replication thread stops with an error.
      - With V(false), RV(caught_up) is still reported (checked with a one-second wait).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the replica to catch up.
    type: int
    default: 300
  read_only:
    description:
      - Set the server's global C(read_only) (V(true) is usual on replicas). Not set means leave it
        as it is.
      - C(SET GLOBAL) does not survive a restart; put C(read_only) in the server configuration too.
    type: bool
notes:
  - Supports check mode and diff mode.
  - On MariaDB, errant transactions are found by comparing C(@@gtid_binlog_state) of replica and
    source per domain and server id; a source that received transactions as a replica needs
    C(log_slave_updates) for them to count as the source's.
  - A fresh replica must not have written its own GTIDs (for example setting its root password with
    the binary log on); run such setup with C(SET sql_log_bin=0) or the replica is refused as
    having errant transactions.
  - On MySQL, C(GET_SOURCE_PUBLIC_KEY=1) is set so C(caching_sha2_password) accounts work without TLS.
requirements:
  - PyMySQL
"""

EXAMPLES = r"""
- name: Prepare the primary and its replication account
  statefuldb.k8s.mysql_replication:
    role: primary
    login_host: 10.244.0.10
    login_user: root
    login_password: "{{ mysql_root_password }}"
    replication_user: repl
    replication_password: "{{ mysql_replication_password }}"
    replication_user_host: '%'
  register: primary

- name: Replicate from mysql-0 and wait until caught up
  statefuldb.k8s.mysql_replication:
    role: replica
    login_host: 10.244.0.11
    login_user: root
    login_password: "{{ mysql_root_password }}"
    source_host: mysql-0.mysql.db.svc.cluster.local
    source_login_host: 10.244.0.10
    replication_user: repl
    replication_password: "{{ mysql_replication_password }}"
    read_only: true
    wait_timeout: 120
  register: replica

- name: Credentials from an option file, over TLS
  statefuldb.k8s.mysql_replication:
    role: primary
    config_file: /root/.my.cnf
    ca_cert: /etc/mysql/ca.pem
"""

RETURN = r"""
changed:
  description: Whether anything was (or in check mode would be) changed.
  returned: always
  type: bool
actions:
  description: What the module did, one sentence each (created the account, configured, repaired).
  returned: success
  type: list
  elements: str
  sample: ["started replication: SQL thread was stopped"]
queries:
  description: Every statement run (or, for writes in check mode, that would run), passwords
    masked as C(********). Statements run on the source are prefixed C(/* source host:port */).
  returned: always
  type: list
  elements: str
  sample: ["SHOW REPLICA STATUS", "CHANGE MASTER TO MASTER_HOST='db-0', ..., MASTER_PASSWORD='********', MASTER_USE_GTID=slave_pos"]
password_changed:
  description:
    - With O(role=primary), whether the replication account was created or its password set (in
      check mode, would be). Replicas need the new password (O(refresh_password)).
  returned: success with O(role=primary)
  type: bool
semi_sync:
  description:
    - With O(role=primary), the source side of semi-synchronous replication, or V(null) when the server has
      none. C(on) - replicas acknowledge commits now (the module warns when they do not).
      C(unacknowledged_commits) - commits since the server started that were acknowledged to clients without a
      replica's acknowledgement (the timeout fell back to asynchronous), those made before the first replica
      connected included; a failover before a replica received them would lose them.
  returned: success with O(role=primary)
  type: dict
  sample: {"on": true, "unacknowledged_commits": 0}
flavor:
  description: V(mariadb) or V(mysql).
  returned: success
  type: str
server_version:
  description: VERSION() of the managed server.
  returned: success
  type: str
  sample: 10.11.6-MariaDB-0+deb12u1-log
server_id:
  description: The managed server's server_id.
  returned: success
  type: int
gtid_executed:
  description: The server's executed GTIDs (MySQL C(@@gtid_executed), MariaDB C(@@gtid_binlog_pos)).
  returned: success
  type: str
gtid_binlog_pos:
  description: MariaDB C(@@gtid_binlog_pos) of the primary.
  returned: success, O(role=primary), MariaDB
  type: str
gtid_current_pos:
  description: MariaDB C(@@gtid_current_pos).
  returned: success, MariaDB
  type: str
gtid_slave_pos:
  description: MariaDB C(@@gtid_slave_pos) of the replica (the position it replicates from).
  returned: success, O(role=replica), MariaDB
  type: str
binlog_file:
  description: Current binary log file of the primary.
  returned: success, O(role=primary)
  type: str
binlog_position:
  description: Position in RV(binlog_file).
  returned: success, O(role=primary)
  type: int
read_only:
  description: The server's global read_only (predicted in check mode).
  returned: success
  type: bool
source_host:
  description: The source the replica replicates from.
  returned: success, O(role=replica)
  type: str
source_port:
  description: Its port.
  returned: success, O(role=replica)
  type: int
source_server_id:
  description: server_id of the source.
  returned: success, O(role=replica)
  type: int
source_gtid_executed:
  description: The source's executed GTIDs when the module started (what the replica waited for).
  returned: success, O(role=replica)
  type: str
io_running:
  description: Replica IO thread state (V(Yes), V(No), V(Connecting)); null when replication is not
    configured (possible in check mode).
  returned: success, O(role=replica)
  type: str
sql_running:
  description: Replica SQL thread state (V(Yes), V(No)).
  returned: success, O(role=replica)
  type: str
seconds_behind_source:
  description: Replication lag the server reports (Seconds_Behind_Master/Source); null when unknown.
  returned: success, O(role=replica)
  type: int
caught_up:
  description: Whether the replica had applied everything the source had when the module started.
    Null in check mode.
  returned: success, O(role=replica)
  type: bool
last_io_error:
  description: Last IO thread error, if any.
  returned: success, O(role=replica)
  type: str
last_sql_error:
  description: Last SQL thread error, if any.
  returned: success, O(role=replica)
  type: str
errant_gtids:
  description: The GTIDs the replica has and the source never had, when refused for that reason.
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.args import MYSQL_LOGIN_ARG_SPEC
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.finish import run_and_exit
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.replication import run


def argument_spec():
    spec = dict(MYSQL_LOGIN_ARG_SPEC)
    spec.update(
        role={"type": "str", "required": True, "choices": ["primary", "replica"]},
        replication_user={"type": "str"},
        replication_password={"type": "str", "no_log": True},
        replication_user_host={"type": "str", "default": "%"},
        update_password={"type": "str", "default": "always", "choices": ["always", "on_create"],
                         "no_log": False},
        source_host={"type": "str"},
        source_port={"type": "int", "default": 3306},
        source_login_host={"type": "str"},
        source_login_port={"type": "int"},
        source_login_user={"type": "str"},
        source_login_password={"type": "str", "no_log": True},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 300},
        read_only={"type": "bool"},
        refresh_password={"type": "bool", "default": False, "no_log": False},
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("role", "replica", ["source_host", "replication_user", "replication_password"])],
        required_together=[("replication_user", "replication_password"),
                           ("source_login_user", "source_login_password")],
    )
    run_and_exit(module, run)


if __name__ == "__main__":
    main()
