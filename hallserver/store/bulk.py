"""A group commit's rows handed to the database driver in one executemany per statement.

SQLAlchemy's own executemany works out every row's parameters generically (a dict built
through the compiled statement for each row): about a tenth of the hall server's time at
1,000 commands/s. Here the statement is compiled once per set of row keys, for the engine's
own dialect (the same SQL SQLAlchemy would send), and each value goes through its column
type's bind processor (what SQLAlchemy would apply: UtcDateTime to naive UTC, SQLite's
dates to text); nothing else is done to it. Only for the batch's common rows
(Store._send_rows), whose keys are fixed by the functions that build them; a statement
that would need SQLAlchemy to add a default value is refused when it is compiled.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Dialect


class BulkStatement:
    def __init__(self, statement: Any, dialect: Dialect) -> None:
        self.statement = statement
        self.dialect = dialect
        self._prepared: dict[tuple[str, ...], tuple[str, list[tuple[str, Callable]]]] = {}

    def _prepare(self, keys: tuple[str, ...]) -> tuple[str, list[tuple[str, Callable]]]:
        found = self._prepared.get(keys)
        if found is not None:
            return found
        # named parameters on every database (SQLite's qmark would need the values in order)
        dialect = type(self.dialect)(paramstyle="named") if self.dialect.name == "sqlite" else self.dialect
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            raise ValueError(f"{self.statement}: columns {sorted(keys)} leave defaults for SQLAlchemy to add")
        if getattr(compiled, "escaped_bind_names", None):     # the SQL's names would not be the keys
            raise ValueError(f"{self.statement}: columns {sorted(compiled.escaped_bind_names)} need escaped names")
        names = set(compiled.binds)
        if names != set(keys):
            raise ValueError(f"{self.statement}: parameters {sorted(names)} are not the rows' keys {sorted(keys)}")
        processors = []
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(self.dialect).bind_processor(self.dialect)
            if process is not None:
                processors.append((name, process))
        found = self._prepared[keys] = (compiled.string, processors)
        return found

    def execute(self, conn: Connection, rows: list[dict]) -> None:
        """Send `rows` (their values are replaced by what the database is given)."""
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(row)
        for keys, group in groups.items():
            sql, processors = self._prepare(keys)
            for row in group:
                for name, process in processors:
                    row[name] = process(row[name])
            conn.exec_driver_sql(sql, group)
