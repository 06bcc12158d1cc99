"""One run at a time per warehouse: `flowmart run`, `load` and `build` hold an exclusive lock on a file beside
the warehouse. The lock is the operating system's (flock), so it ends with its process however that process
ends; the file names the holder (pid, since when, command) for the message a second run prints."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pipelines.settings import duckdb_path, spark_dir

log = logging.getLogger("flowmart")


class RunLocked(RuntimeError):
    """Another run holds the warehouse; the message names it."""


def lock_path(target: str) -> Path:
    """warehouse/flowmart.duckdb.lock for DuckDB; warehouse/postgres-<host>-<port>-<db>.lock for PostgreSQL
    (runs from this folder only); <spark dir>/flowmart.lock for Spark (its landing file and metastore)."""
    if target == "duckdb":
        path = duckdb_path()
        return path.with_name(path.name + ".lock")
    if target == "spark":
        spark_dir().mkdir(parents=True, exist_ok=True)
        return spark_dir() / "flowmart.lock"
    parts = [os.environ.get("FLOWMART_PG_HOST", "localhost"), os.environ.get("FLOWMART_PG_PORT", "5432"),
             os.environ.get("FLOWMART_PG_DBNAME", "flowmart")]
    return duckdb_path().parent / ("postgres-" + "-".join(p.replace("/", "_") for p in parts) + ".lock")


@contextlib.contextmanager
def hold(target: str, command: str) -> Iterator[Path]:
    """Hold the warehouse's run lock for the block; raise RunLocked when another process holds it. The lock of
    a process that died is free (the system released it): it is taken over, with a warning."""
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    file = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the block
    try:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "a process that is starting"
            raise RunLocked(f"another flowmart run holds the warehouse ({path}): {holder}; nothing was done, "
                            "run again when it has ended") from None
        file.seek(0)
        previous = file.read().strip()
        if previous:
            log.warning("took over the lock of a run that ended without releasing it (%s)", previous)
        file.seek(0)
        file.truncate()
        file.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC (flowmart {command})\n")
        file.flush()
        try:
            yield path
        finally:
            file.seek(0)
            file.truncate()  # an empty file is a free lock; never deleted, so two runs never lock two files
            file.flush()
            fcntl.flock(file, fcntl.LOCK_UN)
    finally:
        file.close()
