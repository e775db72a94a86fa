# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MySQL: the replication SQL that differs by version, one dict per version where it changed.

Only the SOURCE/REPLICA vocabulary is used, so one table serves 8.0.23 up to 8.4 LTS and 9.x:
8.4 removed CHANGE MASTER, SHOW SLAVE STATUS, START/STOP SLAVE and SHOW MASTER STATUS
(SHOW BINARY LOG STATUS replaces the last one from 8.2). The privilege is still called
REPLICATION SLAVE.
"""
from __future__ import annotations

# CHANGE REPLICATION SOURCE TO appeared in 8.0.23.
MINIMUM_VERSION = (8, 0, 23)

MYSQL_8_0_23 = {
    "server_variables": (
        "SELECT @@GLOBAL.server_id AS server_id, @@hostname AS hostname, @@port AS port,"
        " @@datadir AS datadir, @@server_uuid AS server_uuid, @@GLOBAL.log_bin AS log_bin,"
        " @@GLOBAL.read_only AS read_only, @@GLOBAL.gtid_mode AS gtid_mode,"
        " @@GLOBAL.enforce_gtid_consistency AS enforce_gtid_consistency,"
        " @@GLOBAL.gtid_executed AS gtid_executed, @@GLOBAL.gtid_purged AS gtid_purged"
    ),
    "binlog_status": "SHOW MASTER STATUS",
    "replica_status": "SHOW REPLICA STATUS",
    # GET_SOURCE_PUBLIC_KEY lets caching_sha2_password (the 8.x default) log in without TLS.
    "change_source": (
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER=%s,"
        " SOURCE_PASSWORD=%s, SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1"
    ),
    "start_replica": "START REPLICA",
    "stop_replica": "STOP REPLICA",
    # A new password for a configured replica: only the receiver (IO) thread has to stop; the
    # applier keeps applying and the position is kept.
    "stop_for_password": "STOP REPLICA IO_THREAD",
    "change_password": "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD=%s",
    # Returns 0 once gtid_executed contains the set, 1 on timeout.
    "wait_for_gtid": "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s)",
    # Run on the source: (replica set, source set, replica set, source set).
    "errant_gtids": "SELECT GTID_SUBSET(%s, %s) AS is_subset, GTID_SUBTRACT(%s, %s) AS errant",
    "set_password": "ALTER USER %s@%s IDENTIFIED BY %s",
    "grant_privileges": "REPLICATION SLAVE, REPLICATION CLIENT",
    "shown_privileges": frozenset(["REPLICATION SLAVE", "REPLICATION CLIENT"]),
    "status_columns": {
        "io_running": "Replica_IO_Running",
        "sql_running": "Replica_SQL_Running",
        "source_host": "Source_Host",
        "source_port": "Source_Port",
        "source_user": "Source_User",
        "seconds_behind_source": "Seconds_Behind_Source",
        "last_io_errno": "Last_IO_Errno",
        "last_io_error": "Last_IO_Error",
        "last_sql_errno": "Last_SQL_Errno",
        "last_sql_error": "Last_SQL_Error",
        "source_server_id": "Source_Server_Id",
        "auto_position": "Auto_Position",
        "retrieved_gtid_set": "Retrieved_Gtid_Set",
    },
    "auto_position_value": "1",
    # Switchover and failover (promote.py).
    "gtid_position": "SELECT @@GLOBAL.gtid_executed AS position",
    # Seeding (seed.py): what the source purged is @@gtid_purged (server_variables).
    "binary_logs": "SHOW BINARY LOGS",
    "binlog_start": None,
    # The CLONE plugin copies a donor's data into this server, which then restarts.
    "clone_plugin": "SELECT PLUGIN_STATUS AS status FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone'",
    "clone_donor_list": "SET GLOBAL clone_valid_donor_list = %s",
    # CLONE drops the member's databases, which super_read_only forbids; read_only stays on, and the
    # restart on the copy applies the configured super_read_only again.
    "clone_writable": "SET GLOBAL super_read_only = OFF",
    "clone_instance": "CLONE INSTANCE FROM %s@%s:%s IDENTIFIED BY %s",
    "clone_status": ("SELECT STATE AS state, ERROR_NO AS error_no, ERROR_MESSAGE AS error_message"
                     " FROM performance_schema.clone_status"),
    # super_read_only=ON also sets read_only=ON and stops SUPER / CONNECTION_ADMIN accounts too.
    "read_only_on": ("SET GLOBAL super_read_only = ON",),
    "read_only_off": ("SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"),
    "stop_io_thread": "STOP REPLICA IO_THREAD",
    "start_sql_thread": "START REPLICA SQL_THREAD",
    "reset_replica": "RESET REPLICA ALL",
    # SOURCE_AUTO_POSITION uses gtid_executed, which already holds a former primary's own writes.
    "adopt_own_position": None,
}

MYSQL_8_2 = dict(MYSQL_8_0_23, binlog_status="SHOW BINARY LOG STATUS")

# (first version, table), oldest first.
VERSIONS = (
    (MINIMUM_VERSION, MYSQL_8_0_23),
    ((8, 2, 0), MYSQL_8_2),
)
