# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MariaDB: the replication SQL that differs by version, one dict per version where it changed.

MariaDB always writes GTIDs (domain-server-sequence); a replica follows them with
MASTER_USE_GTID=slave_pos. SHOW REPLICA STATUS / START REPLICA exist from 10.5.1 (the status
columns keep their Slave_/Master_ names), and from 10.5.2 REPLICATION CLIENT is shown as
BINLOG MONITOR and SHOW BINLOG STATUS exists.
"""
from __future__ import annotations

# MASTER_USE_GTID appeared in 10.0.2; anything older cannot do GTID auto-positioning.
MINIMUM_VERSION = (10, 0, 2)

MARIADB_10_0 = {
    "server_variables": (
        "SELECT @@GLOBAL.server_id AS server_id, @@hostname AS hostname, @@port AS port,"
        " @@datadir AS datadir, NULL AS server_uuid, @@GLOBAL.log_bin AS log_bin,"
        " @@GLOBAL.read_only AS read_only, 'ON' AS gtid_mode,"
        " 'ON' AS enforce_gtid_consistency, @@GLOBAL.gtid_binlog_pos AS gtid_executed,"
        " @@GLOBAL.gtid_binlog_state AS gtid_binlog_state,"
        " @@GLOBAL.gtid_current_pos AS gtid_current_pos,"
        " @@GLOBAL.gtid_slave_pos AS gtid_slave_pos"
    ),
    "binlog_status": "SHOW MASTER STATUS",
    "replica_status": "SHOW SLAVE STATUS",
    "change_source": (
        "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s,"
        " MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos"
    ),
    "start_replica": "START SLAVE",
    "stop_replica": "STOP SLAVE",
    # A new password for a configured replica. MariaDB refuses CHANGE MASTER while either thread
    # runs (error 1198), so both stop; the position (gtid_slave_pos) is kept.
    "stop_for_password": "STOP SLAVE",
    "change_password": "CHANGE MASTER TO MASTER_PASSWORD=%s",
    # Returns 0 once gtid_slave_pos reached the position, -1 on timeout.
    "wait_for_gtid": "SELECT MASTER_GTID_WAIT(%s, %s)",
    # No server-side GTID set function: errant transactions are found in Python (gtid.py).
    "errant_gtids": None,
    # Keeps the account's plugin: ALTER USER ... IDENTIFIED BY would switch an ed25519 account
    # to mysql_native_password.
    "set_password": "SET PASSWORD FOR %s@%s = PASSWORD(%s)",
    "grant_privileges": "REPLICATION SLAVE, REPLICATION CLIENT",
    "shown_privileges": frozenset(["REPLICATION SLAVE", "REPLICATION CLIENT"]),
    "status_columns": {
        "io_running": "Slave_IO_Running",
        "sql_running": "Slave_SQL_Running",
        "source_host": "Master_Host",
        "source_port": "Master_Port",
        "source_user": "Master_User",
        "seconds_behind_source": "Seconds_Behind_Master",
        "last_io_errno": "Last_IO_Errno",
        "last_io_error": "Last_IO_Error",
        "last_sql_errno": "Last_SQL_Errno",
        "last_sql_error": "Last_SQL_Error",
        "source_server_id": "Master_Server_Id",
        "auto_position": "Using_Gtid",
        "retrieved_gtid_set": "Gtid_IO_Pos",
    },
    # Using_Gtid value that means "GTID auto-positioning as we configure it".
    "auto_position_value": "Slave_Pos",
    # Switchover and failover (promote.py).
    # What a server has written to its binary log: the position a new primary must reach.
    "gtid_position": "SELECT @@GLOBAL.gtid_binlog_pos AS position",
    # read_only does not stop accounts with SUPER / READ ONLY ADMIN (root): promote.py also ends the
    # other client connections.
    "read_only_on": ("SET GLOBAL read_only = ON",),
    "read_only_off": ("SET GLOBAL read_only = OFF",),
    "stop_io_thread": "STOP SLAVE IO_THREAD",
    "start_sql_thread": "START SLAVE SQL_THREAD",
    "reset_replica": "RESET SLAVE ALL",
    # A former primary becoming a replica: MASTER_USE_GTID=slave_pos must start after its own writes.
    "adopt_own_position": "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos",
    # Seeding (seed.py): the GTID list at the start of the oldest binary log is what was purged.
    "binary_logs": "SHOW BINARY LOGS",
    "binlog_start": "SELECT BINLOG_GTID_POS(%s, 4) AS position",
    # No server-side clone: the mysql_cluster role copies with mariadb-backup through the pods.
    "clone_plugin": None,
    "clone_donor_list": None,
    "clone_writable": None,
    "clone_instance": None,
    "clone_status": None,
}

MARIADB_10_5_1 = dict(
    MARIADB_10_0,
    replica_status="SHOW REPLICA STATUS",
    start_replica="START REPLICA",
    stop_replica="STOP REPLICA",
    stop_for_password="STOP REPLICA",
    stop_io_thread="STOP REPLICA IO_THREAD",
    start_sql_thread="START REPLICA SQL_THREAD",
    reset_replica="RESET REPLICA ALL",
)

MARIADB_10_5_2 = dict(
    MARIADB_10_5_1,
    binlog_status="SHOW BINLOG STATUS",
    shown_privileges=frozenset(["REPLICATION SLAVE", "BINLOG MONITOR"]),
)

# (first version, table), oldest first.
VERSIONS = (
    (MINIMUM_VERSION, MARIADB_10_0),
    ((10, 5, 1), MARIADB_10_5_1),
    ((10, 5, 2), MARIADB_10_5_2),
)
