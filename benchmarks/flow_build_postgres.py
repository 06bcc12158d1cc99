"""Benchmark: the flow models' `dbt build` on PostgreSQL at sample scale 50, full and incremental after the
same day of work as `benchmarks/flow_build.py`, whose workdir it reads (run that first):

    .venv/bin/python -m benchmarks.flow_build --scale 50 --anchor 2026-11-21 --workdir /tmp/flowmart-flow
    .venv/bin/python -m benchmarks.flow_build_postgres --workdir /tmp/flowmart-flow [--repeat 3]

1. A throwaway PostgreSQL server (tests/postgres.py; 4 GB shared buffers, 256 MB work_mem, no fsync), into
   which the raw Jira and org tables of the DuckDB benchmark are copied as they were before the day of work
   (its loaded file, stamped as daily loads by pipelines/sample/daily_loads.py), with the types dlt gives
   them on PostgreSQL.
2. Full build of the flow models (`--full-refresh`, clock at the day after the sample), recorded as
   `flowmart run` records it.
3. The raw tables replaced by those of the DuckDB benchmark's warehouse after its day of work (6,000
   transitions, loaded incrementally), as an incremental load into PostgreSQL would have left them.
4. The daily plan (orchestration/runner.py plan_build), clock one day later: `--repeat` times, each from a
   copy of the database as step 3 left it (CREATE DATABASE ... TEMPLATE); then once more with nothing new.

dbt connects with the session options of the runner (runner.POSTGRES_OPTIONS: no JIT), in both builds.
Prints the same figures as flow_build.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"shared_buffers": "4GB", "work_mem": "256MB", "maintenance_work_mem": "1GB", "max_wal_size": "16GB",
            "effective_cache_size": "16GB"}
# dlt's PostgreSQL types for the DuckDB types of the raw tables
TYPES = {"BIGINT": "bigint", "BOOLEAN": "boolean", "DOUBLE": "double precision", "TIMESTAMP": "timestamp",
         "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "VARCHAR": "varchar"}


def copy_raw(duckdb_file: Path, conn, scratch: Path) -> int:
    """Replace the rows of the raw_jira and raw_org tables (but dlt's own) in PostgreSQL with those of the DuckDB
    file, creating the tables the first time."""
    import duckdb

    source = duckdb.connect(str(duckdb_file), read_only=True)
    rows = 0
    try:
        tables = source.execute("select schema_name, table_name from duckdb_tables() where schema_name in "
                                "('raw_jira', 'raw_org') and not starts_with(table_name, '_dlt')").fetchall()
        with conn.cursor() as cur:
            for schema, table in tables:
                columns = source.execute("select column_name, data_type from information_schema.columns where "
                                         "table_schema = ? and table_name = ? order by ordinal_position",
                                         [schema, table]).fetchall()
                cur.execute(f"create schema if not exists {schema}")
                cur.execute(f"create table if not exists {schema}.{table} ("
                            + ", ".join(f'"{name}" {TYPES[kind]}' for name, kind in columns) + ")")
                cur.execute(f"truncate {schema}.{table}")  # kept: the staging views and the indexes on it
                csv = scratch / "table.csv"
                source.execute(f"copy (select * from {schema}.{table}) to '{csv}' (header false, force_quote *)")
                with csv.open() as rows_in:
                    cur.copy_expert(f"copy {schema}.{table} from stdin with (format csv)", rows_in)
                rows += cur.rowcount
            cur.execute("analyze")
        conn.commit()
    finally:
        source.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default="/tmp/flowmart-flow", help="the workdir of benchmarks.flow_build")
    parser.add_argument("--scale", type=float, default=50.0)
    parser.add_argument("--anchor", default="2026-11-21")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    work = Path(args.workdir)
    loaded = work / f"loaded-{args.scale}-{args.anchor}" / "warehouse.duckdb"
    after_day_of_work = work / "warehouse.duckdb"
    if not loaded.exists() or not after_day_of_work.exists():
        raise SystemExit(f"run benchmarks.flow_build with --workdir {work} first")
    sys.path.insert(0, str(ROOT))
    from benchmarks.flow_build import dbt_build, medians
    from orchestration import runner
    from pipelines.sample.daily_loads import stamp_as_daily_loads
    from tests.postgres import PostgresServer

    pg_work = work / "postgres"
    shutil.rmtree(pg_work, ignore_errors=True)
    pg_work.mkdir()
    day_0_file = pg_work / "day-0.duckdb"
    shutil.copy(loaded, day_0_file)
    stamp_as_daily_loads(day_0_file)
    server = PostgresServer(SETTINGS).start()
    try:
        os.environ.update(server.env(), FLOWMART_TARGET="postgres")
        runner.postgres_session("postgres")

        def copy_from(duckdb_file: Path, label: str) -> None:
            conn = server.connect()
            try:
                print(f"{label}: {copy_raw(duckdb_file, conn, pg_work):,} raw rows copied", flush=True)
            finally:
                conn.close()

        def admin(*statements: str) -> None:
            conn = server.connect("postgres")
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
            conn.close()

        anchor = date.fromisoformat(args.anchor)
        day_0 = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC) + timedelta(days=1)
        day_1 = day_0 + timedelta(days=1)
        copy_from(day_0_file, "day 0")
        full = dbt_build(pg_work, "full", day_0, "--full-refresh")
        runner.record_build_state("postgres", runner.plan_build("postgres", full_refresh=True).fingerprints)
        copy_from(after_day_of_work, "day 1")
        plan = runner.plan_build("postgres")
        assert not plan.full_refresh and plan.test_scope == "changed", plan
        admin("create database flowmart_day_1 template flowmart")
        runs = []
        for i in range(args.repeat):
            if i:
                admin("drop database flowmart", "create database flowmart template flowmart_day_1")
            runs.append(dbt_build(pg_work, "incremental", day_1, *plan.dbt_args(), scope=plan.test_scope))
        incremental = medians(runs)
        dbt_build(pg_work, "incremental, no change", day_1, *plan.dbt_args(), scope=plan.test_scope)
        print(f"incremental / full: wall {incremental['wall'] / full['wall']:.0%}, dbt elapsed "
              f"{incremental['elapsed'] / full['elapsed']:.0%}, Σ models {incremental['models'] / full['models']:.0%}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
