# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read what a server is (ids, binary log, GTID settings) and its replica status, flavor-neutral."""
from __future__ import annotations

RUNNING = "Yes"


def _on(value):
    """Server booleans come back as 1/0, 'ON'/'OFF' or None."""
    if value is None:
        return False
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    return str(value).strip().upper() in ("1", "ON", "YES", "TRUE")


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    return "" if value is None else str(value)


def read_server(session, flavor):
    """The server's identity and replication prerequisites as a plain dict."""
    row = session.row(flavor.statement("server_variables"))
    return {
        "server_id": int(row["server_id"]),
        "hostname": _text(row["hostname"]),
        "port": int(row["port"]),
        "datadir": _text(row["datadir"]),
        "server_uuid": _text(row.get("server_uuid")) or None,
        "log_bin": _on(row["log_bin"]),
        "read_only": _on(row["read_only"]),
        "gtid_mode": _text(row["gtid_mode"]).upper(),
        "enforce_gtid_consistency": _text(row["enforce_gtid_consistency"]).upper(),
        # MariaDB: @@gtid_binlog_pos; MySQL: @@gtid_executed.
        "gtid_executed": _text(row["gtid_executed"]).replace("\n", ""),
        "gtid_binlog_state": _text(row.get("gtid_binlog_state")) or None,
        "gtid_current_pos": _text(row.get("gtid_current_pos")) or None,
        "gtid_slave_pos": _text(row.get("gtid_slave_pos")) if "gtid_slave_pos" in row else None,
        "gtid_purged": _text(row.get("gtid_purged")).replace("\n", "") if "gtid_purged" in row else None,
    }


def read_replica_status(session, flavor):
    """SHOW SLAVE/REPLICA STATUS with flavor-neutral keys, or None when never configured."""
    row = session.row(flavor.statement("replica_status"))
    if not row:
        return None
    status = {}
    for key, column in flavor.statement("status_columns").items():
        value = row.get(column)
        status[key] = value.decode() if isinstance(value, (bytes, bytearray)) else value
    status["source_port"] = int(status["source_port"]) if status.get("source_port") not in (None, "") else None
    status["source_host"] = status.get("source_host") or None
    for key in ("last_io_errno", "last_sql_errno"):
        status[key] = int(status.get(key) or 0)
    status["auto_position"] = _text(status.get("auto_position"))
    if status.get("seconds_behind_source") is not None:
        status["seconds_behind_source"] = int(status["seconds_behind_source"])
    return status


def binlog_status(session, flavor):
    """(file, position) of the binary log, or (None, None) if the account may not see it."""
    row = session.row(flavor.statement("binlog_status"))
    if not row:
        return None, None
    return _text(row.get("File")) or None, int(row["Position"]) if row.get("Position") is not None else None


SEMI_SYNC_STATUS = "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'"


def semi_sync_source(session):
    """The source side of semi-synchronous replication, or None without the plugin (or the privilege):
    {'on': replicas acknowledge commits now, 'unacknowledged_commits': commits since the server started
    that no replica acknowledged in time (the timeout fell back to asynchronous)}."""
    try:
        rows = session.rows(SEMI_SYNC_STATUS)
    except Exception:  # pylint: disable=broad-except  # only a report: never fails the task
        return None
    values = {_text(row.get("Variable_name")).lower(): row.get("Value") for row in rows}
    for side in ("master", "source"):  # MariaDB and MySQL < 8.0.26 / MySQL 8.0.26+
        if "rpl_semi_sync_%s_status" % side in values:
            return {"on": _on(values["rpl_semi_sync_%s_status" % side]),
                    "unacknowledged_commits": int(values.get("rpl_semi_sync_%s_no_tx" % side) or 0)}
    return None
