"""A fake MySQL/MariaDB server behind a fake PyMySQL connection, for the decision-logic tests.

The fake answers the statements the module_utils send, refuses statements the real server
version does not have (MySQL 8.4 has no CHANGE MASTER, SHOW SLAVE STATUS, ...), records every
statement with its arguments, and applies the effect of START/STOP/CHANGE on its replica status.
"""

MYSQL_84_REMOVED = ("CHANGE MASTER", "SHOW SLAVE STATUS", "START SLAVE", "STOP SLAVE", "SHOW MASTER STATUS",
                    "RESET SLAVE", "RESET MASTER")


class SyntaxErrorFromFake(Exception):
    """What a real server answers for a statement it does not know (error 1064)."""


class FakeServer:
    def __init__(self, version="10.11.6-MariaDB-log", comment="Debian 12", variables=None, status=None,
                 user_row=None, grants=None, removed=(), gtid_subset=None, wait_results=None,
                 binlog=("mysql-bin.000001", 4)):
        self.version = version
        self.comment = comment
        self.variables = dict(variables or {})
        self.status = dict(status) if status else None
        self.user_row = user_row
        self.grants = list(grants or [])
        self.removed = removed
        self.gtid_subset = gtid_subset
        self.wait_results = list(wait_results or [])
        self.binlog = binlog
        self.executed = []  # (sql, args) of everything that reached the server
        self.source_password = None  # what CHANGE MASTER/REPLICATION SOURCE last set

    # --- what the server answers -----------------------------------------------------------
    def answer(self, sql, args):
        upper = sql.upper()
        for statement in self.removed:
            if upper.startswith(statement):
                raise SyntaxErrorFromFake("You have an error in your SQL syntax near %r" % statement)
        self.executed.append((sql, args))
        if upper.startswith("SELECT VERSION()"):
            return [{"version": self.version, "version_comment": self.comment}]
        if upper.startswith("SELECT @@GLOBAL.SERVER_ID"):
            return [dict(self.variables)]
        if upper in ("SHOW SLAVE STATUS", "SHOW REPLICA STATUS"):
            return [dict(self.status)] if self.status else []
        if upper in ("SHOW MASTER STATUS", "SHOW BINLOG STATUS", "SHOW BINARY LOG STATUS"):
            return [{"File": self.binlog[0], "Position": self.binlog[1]}]
        if upper.startswith("SELECT MASTER_GTID_WAIT") or upper.startswith("SELECT WAIT_FOR_EXECUTED_GTID_SET"):
            return [{"r": self.wait_results.pop(0) if self.wait_results else 0}]
        if upper.startswith("SELECT GTID_SUBSET"):
            subset, errant = self.gtid_subset(args[0], args[1])
            return [{"is_subset": 1 if subset else 0, "errant": errant}]
        if upper.startswith("SELECT PLUGIN, HEX(AUTHENTICATION_STRING) AS AUTHENTICATION_HEX FROM MYSQL.USER"):
            if not self.user_row:
                return []
            stored = self.user_row.get("authentication_string") or b""
            stored = stored.encode("latin-1") if isinstance(stored, str) else stored
            return [{"plugin": self.user_row.get("plugin"), "authentication_hex": stored.hex().upper()}]
        if upper.startswith("SHOW GRANTS FOR"):
            return [{"Grants for x": line} for line in self.grants]
        self.apply_write(upper, args)
        return []

    def apply_write(self, upper, args):
        columns = self.columns()
        if upper.startswith(("START SLAVE", "START REPLICA")):
            self.status[columns["io"]] = "Yes"
            self.status[columns["sql"]] = "Yes"
            self.status["Last_IO_Errno"] = 0
            self.status["Last_IO_Error"] = ""
            self.status["Last_SQL_Errno"] = 0
            self.status["Last_SQL_Error"] = ""
        elif upper.endswith("IO_THREAD") and upper.startswith(("STOP SLAVE", "STOP REPLICA")):
            self.status[columns["io"]] = "No"
        elif upper.startswith(("STOP SLAVE", "STOP REPLICA")):
            self.status[columns["io"]] = "No"
            self.status[columns["sql"]] = "No"
        elif upper.startswith(("CHANGE MASTER", "CHANGE REPLICATION SOURCE")) and "_HOST" not in upper:
            # Only the password: refused while a thread runs that the server says must stop.
            mariadb = "mariadb" in (self.version + self.comment).lower()
            if self.status[columns["io"]] == "Yes" or (mariadb and self.status[columns["sql"]] == "Yes"):
                raise SyntaxErrorFromFake(1198, "This operation cannot be performed as you have a running slave")
            self.source_password = args[0]
        elif upper.startswith(("CHANGE MASTER", "CHANGE REPLICATION SOURCE")):
            self.source_password = args[3]
            self.status = dict(self.status or {}, **{
                columns["host"]: args[0], columns["port"]: args[1], columns["user"]: args[2],
                columns["io"]: self.status[columns["io"]] if self.status else "No",
                columns["sql"]: self.status[columns["sql"]] if self.status else "No",
                columns["gtid"]: columns["gtid_value"], "Last_IO_Errno": 0, "Last_IO_Error": "",
                "Last_SQL_Errno": 0, "Last_SQL_Error": "", columns["lag"]: None})
        elif upper.startswith("SET GLOBAL READ_ONLY"):
            self.variables["read_only"] = 1 if args[0] == "ON" else 0

    def columns(self):
        if "mariadb" in (self.version + self.comment).lower():
            return {"io": "Slave_IO_Running", "sql": "Slave_SQL_Running", "host": "Master_Host",
                    "port": "Master_Port", "user": "Master_User", "gtid": "Using_Gtid", "gtid_value": "Slave_Pos",
                    "lag": "Seconds_Behind_Master"}
        return {"io": "Replica_IO_Running", "sql": "Replica_SQL_Running", "host": "Source_Host",
                "port": "Source_Port", "user": "Source_User", "gtid": "Auto_Position", "gtid_value": 1,
                "lag": "Seconds_Behind_Source"}

    def writes(self):
        reads = ("SELECT", "SHOW")
        return [sql for sql, unused in self.executed if not sql.upper().startswith(reads)]

    # --- the PyMySQL connection surface ---------------------------------------------------------
    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


class FakeCursor:
    def __init__(self, server):
        self.server = server
        self.description = None
        self._rows = []

    def execute(self, sql, args=None):
        rows = self.server.answer(sql, tuple(args or ()))
        keys = list(rows[0].keys()) if rows else []
        self.description = [(key,) for key in keys] if rows else None
        self._rows = [tuple(row[key] for key in keys) for row in rows]

    def fetchall(self):
        return list(self._rows)

    def close(self):
        pass


def mariadb_variables(**overrides):
    values = {"server_id": 2, "hostname": "db-1", "port": 3306, "datadir": "/var/lib/mysql/",
              "server_uuid": None, "log_bin": 1, "read_only": 0, "gtid_mode": "ON",
              "enforce_gtid_consistency": "ON", "gtid_executed": "", "gtid_binlog_state": "",
              "gtid_current_pos": "", "gtid_slave_pos": ""}
    values.update(overrides)
    return values


def mysql_variables(**overrides):
    values = {"server_id": 2, "hostname": "db-1", "port": 3306, "datadir": "/var/lib/mysql/",
              "server_uuid": "22222222-0000-0000-0000-000000000002", "log_bin": 1, "read_only": 0,
              "gtid_mode": "ON", "enforce_gtid_consistency": "ON", "gtid_executed": "", "gtid_purged": ""}
    values.update(overrides)
    return values


class Clock:
    """A clock and its sleep for the waits: time moves only when the code under test sleeps."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
