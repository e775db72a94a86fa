# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Statements with their arguments, and a session that records every query it runs.

A Statement keeps the SQL text (``%s`` placeholders, PyMySQL client-side escaping) apart from its
arguments, so the recorded text can mask secrets while the server gets the real value.
In check mode a session executes reads and only records writes.
"""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError

MASK = "********"


def quote_literal(value):
    """Render a value as a SQL literal for the recorded query text (never sent to a server)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return "'%s'" % text


class Statement(object):
    """One SQL statement: text with ``%s`` placeholders, arguments, and which arguments are secret."""

    def __init__(self, sql, args=(), secret=()):
        self.sql = sql
        self.args = tuple(args)
        self.secret = frozenset(secret)
        if sql.count("%s") != len(self.args):
            raise ValueError("statement %r expects %d arguments, got %d"
                             % (sql, sql.count("%s"), len(self.args)))

    def masked(self):
        """The statement as recorded in ``queries``: literals inlined, secrets as ********."""
        parts = self.sql.split("%s")
        out = [parts[0]]
        for index, arg in enumerate(self.args):
            out.append(quote_literal(MASK) if index in self.secret else quote_literal(arg))
            out.append(parts[index + 1])
        return "".join(out)

    def __repr__(self):
        return "Statement(%r)" % self.masked()


def as_statement(stmt):
    return stmt if isinstance(stmt, Statement) else Statement(stmt)


class SqlSession(object):
    """Runs statements on one connection and appends each one (masked) to a shared list.

    ``label`` prefixes the recorded text (as a SQL comment) for connections other than the
    module's main one, so ``queries`` shows which server ran what.
    """

    def __init__(self, connection, queries, check_mode=False, label=None, address=None):
        self.connection = connection
        self.queries = queries
        self.check_mode = check_mode
        self.label = label
        self.address = address

    def _record(self, stmt):
        text = stmt.masked()
        if self.label:
            text = "/* %s */ %s" % (self.label, text)
        self.queries.append(text)

    def _execute(self, cursor, stmt):
        try:
            cursor.execute(stmt.sql, stmt.args or None)
        except Exception as exc:  # the driver's errors (privileges, lost connection) -> a readable failure
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            text = str(exc.args[1] if len(exc.args) > 1 else exc)
            for index in stmt.secret:  # servers quote the statement back in syntax errors
                text = text.replace(str(stmt.args[index]), MASK)
            where = " on %s" % self.address if self.address else ""
            raise MySQLReplicationError(
                "%s failed%s: %s%s" % (stmt.masked(), where, "(%d) " % code if code else "", text),
                error_code=code)

    def rows(self, stmt):
        """Execute a read and return its rows as dicts (also in check mode)."""
        stmt = as_statement(stmt)
        self._record(stmt)
        cursor = self.connection.cursor()
        try:
            self._execute(cursor, stmt)
            columns = [c[0] for c in (cursor.description or ())]
            return [dict(zip(columns, row)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def row(self, stmt):
        rows = self.rows(stmt)
        return rows[0] if rows else None

    def value(self, stmt):
        row = self.row(stmt)
        return None if row is None else list(row.values())[0]

    def write(self, stmt):
        """Execute a change; in check mode only record it. Returns True if it ran."""
        stmt = as_statement(stmt)
        self._record(stmt)
        if self.check_mode:
            return False
        cursor = self.connection.cursor()
        try:
            self._execute(cursor, stmt)
        finally:
            cursor.close()
        return True

    def close(self):
        try:
            self.connection.close()
        except Exception:  # closing a dead connection must not hide the real error
            return
