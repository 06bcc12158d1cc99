"""SQL on the warehouse (DuckDB file or PostgreSQL) outside dbt: the run summary, the build state, the tests."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pipelines.settings import duckdb_path, postgres_credentials


class Warehouse:
    def __init__(self, target: str | None = None) -> None:
        self.target = target or os.environ.get("FLOWMART_TARGET", "duckdb")
        if self.target == "duckdb":
            import duckdb

            # same configuration as dbt's in-process connection, so both can be open in one process
            self._conn = duckdb.connect(str(duckdb_path()))
        elif self.target == "spark":
            from pipelines.spark import session

            self._conn = session()
        else:
            import psycopg2

            self._conn = psycopg2.connect(postgres_credentials())
            self._conn.autocommit = True

    @property
    def marker(self) -> str:
        """The driver's parameter marker: DuckDB's and Spark's ? or psycopg2's %s."""
        return "%s" if self.target == "postgres" else "?"

    def quote(self, name: str) -> str:
        """An identifier quoted for the target (Spark reads "x" as a string)."""
        return f"`{name}`" if self.target == "spark" else f'"{name}"'

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        if self.target == "spark":
            return [tuple(row) for row in self._conn.sql(sql, args=list(params) if params else None).collect()]
        if self.target == "duckdb":
            return self._conn.execute(sql, params or []).fetchall()
        with self._conn.cursor() as cur:
            cur.execute(sql, params or None)
            return cur.fetchall() if cur.description else []

    def records(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(column names, rows) of a query."""
        if self.target == "spark":
            frame = self._conn.sql(sql)
            return list(frame.columns), [tuple(row) for row in frame.collect()]
        if self.target == "duckdb":
            result = self._conn.execute(sql)
            return [d[0] for d in result.description], result.fetchall()
        with self._conn.cursor() as cur:
            cur.execute(sql)
            return [d[0] for d in cur.description], cur.fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def tables(self, schema_prefix: str = "") -> list[tuple[str, str]]:
        """(schema, table) of every base table or view whose schema starts with the prefix."""
        if self.target == "spark":
            return sorted((db.name, t.name) for db in self._conn.catalog.listDatabases()
                          if db.name.startswith(schema_prefix) for t in self._conn.catalog.listTables(db.name))
        sql = ("select table_schema, table_name from information_schema.tables "
               f"where table_schema like {self.marker} order by 1, 2")
        return [(s, t) for s, t in self.rows(sql, [schema_prefix + "%"])]

    def columns(self, schema: str, table: str) -> list[str]:
        if self.target == "spark":
            return [c.name for c in self._conn.catalog.listColumns(f"{schema}.{table}")]
        sql = ("select column_name from information_schema.columns "
               f"where table_schema = {self.marker} and table_name = {self.marker} order by ordinal_position")
        return [c for (c,) in self.rows(sql, [schema, table])]

    def exists(self, schema: str, table: str) -> bool:
        return (schema, table) in set(self.tables(schema))

    def close(self) -> None:
        if self.target != "spark":  # the Spark session stays for dbt and the rest of the process
            self._conn.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WarehouseBusy(RuntimeError):
    """Another process keeps the DuckDB file open; the message names it."""


def _holder(message: str) -> str:
    """The process that DuckDB's lock error names, with its command line when it can be read."""
    found = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    if not found:
        return "another process"
    program, pid = found.groups()
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = program
    return f"pid {pid} ({command[:120]})"


@contextlib.contextmanager
def held_open(target: str) -> Iterator[None]:
    """For a run on DuckDB: keep the warehouse file open for the block, so no other process can open it mid-run
    (dlt and dbt share this process's database). A process that holds it open, a read-only reader included, is
    waited for up to FLOWMART_DUCKDB_WAIT seconds (default 60); then WarehouseBusy names it."""
    if target != "duckdb":
        yield
        return
    import duckdb

    path = duckdb_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = float(os.environ.get("FLOWMART_DUCKDB_WAIT", "60"))
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            conn = duckdb.connect(str(path))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc):
                raise
            holder = _holder(str(exc))
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse {path} is held open by {holder}; waited {wait:g} s (FLOWMART_DUCKDB_WAIT) for it "
                    "to close: close that connection and run again (see the README, \"Query it\")") from None
            if not said:
                print(f"flowmart: the warehouse {path} is held open by {holder}; waiting up to {wait:g} s for it to "
                      "close (FLOWMART_DUCKDB_WAIT)", file=sys.stderr, flush=True)
                said = True
            time.sleep(0.5)
    try:
        yield
    finally:
        conn.close()
