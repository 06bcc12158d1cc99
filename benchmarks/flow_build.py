"""Benchmark: a full `flowmart build` (every model rebuilt and every data test run, as each `flowmart run` does;
no unit tests) on the sample organisation at a scale, on DuckDB or PostgreSQL.

    .venv/bin/python -m benchmarks.flow_build --scale 50 [--anchor 2026-11-21] [--workdir /tmp/flowmart-flow]
        [--target duckdb|postgres] [--repeat 3] [--loaded FILE]

1. The sample organisation at that scale is generated once into the workdir; its org config and Jira issues are
   loaded over HTTP from the local API server into a DuckDB file kept in the workdir (reused by later runs).
   `--loaded FILE` uses a warehouse loaded otherwise instead, e.g. every source of the sample by
   `FLOWMART_DUCKDB_PATH=FILE flowmart load ... --sample --scale 50` (GitHub takes most of that load's time).
2. DuckDB: each repeat starts from a copy of that file. PostgreSQL: a throwaway server (tests/postgres.py; 4 GB
   shared buffers, no fsync) gets the raw tables (every `raw_*` schema) copied from that file with the column
   types dlt gives them.
3. `flowmart build` runs `--repeat` times with the clock at the day after the sample's last day (FLOWMART_NOW).
   Each build replaces every table, so the repeats on PostgreSQL start from the same raw tables too.

Prints, per build, the wall time of `flowmart build`, its CPU time (user + system of the process and its
children: less sensitive than the wall time to other work on the machine) and dbt's elapsed time, then
their medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOWMART = str(Path(sys.executable).with_name("flowmart"))
POSTGRES_SETTINGS = {"shared_buffers": "4GB", "work_mem": "256MB", "maintenance_work_mem": "1GB",
                     "max_wal_size": "16GB", "effective_cache_size": "16GB"}
# dlt's PostgreSQL types for the DuckDB types of the raw tables
TYPES = {"BIGINT": "bigint", "BOOLEAN": "boolean", "DOUBLE": "double precision", "TIMESTAMP": "timestamp",
         "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "VARCHAR": "varchar"}


def loaded_warehouse(work: Path, scale: float, anchor: date) -> Path:
    """The DuckDB file with the sample's org config and Jira issues loaded (made once per scale and anchor)."""
    sample = work / f"sample-{scale}-{anchor}"
    loaded = work / f"loaded-{scale}-{anchor}.duckdb"
    if loaded.exists():
        return loaded
    from pipelines import jira, org
    from pipelines.orgconfig import load_org_config
    from pipelines.sample.generate import generate_sample
    from pipelines.sample.server import SampleApiServer

    if not (sample / "org.yml").exists():
        started = time.perf_counter()
        generate_sample(sample, scale=scale, anchor=anchor)
        print(f"sample at scale {scale} generated in {time.perf_counter() - started:.0f} s", flush=True)
    scratch = work / "loading.duckdb"
    scratch.unlink(missing_ok=True)
    os.environ.update(FLOWMART_DUCKDB_PATH=str(scratch), FLOWMART_PIPELINES_DIR=str(work / "pipelines"),
                      FLOWMART_TARGET="duckdb")
    shutil.rmtree(work / "pipelines", ignore_errors=True)
    config = load_org_config(sample / "org.yml")
    started = time.perf_counter()
    with SampleApiServer(sample) as server:
        os.environ.update(SOURCES__JIRA__BASE_URL=server.url, SOURCES__JIRA__EMAIL="bench@acme.example",
                          SOURCES__JIRA__API_TOKEN="token")
        org.load(config, sample)
        jira.load(config, sample)
    print(f"org and Jira loaded in {time.perf_counter() - started:.0f} s", flush=True)
    scratch.rename(loaded)
    return loaded


def copy_raw(duckdb_file: Path, conn, scratch: Path) -> int:
    """The raw tables (every `raw_*` schema but dlt's own tables) of the DuckDB file, created in PostgreSQL
    with dlt's types and filled; returns the number of rows."""
    import duckdb

    source = duckdb.connect(str(duckdb_file), read_only=True)
    rows = 0
    try:
        tables = source.execute("select schema_name, table_name from duckdb_tables() where starts_with(schema_name, "
                                "'raw_') and not starts_with(table_name, '_dlt')").fetchall()
        with conn.cursor() as cur:
            for schema, table in tables:
                columns = source.execute("select column_name, data_type from information_schema.columns where "
                                         "table_schema = ? and table_name = ? order by ordinal_position",
                                         [schema, table]).fetchall()
                cur.execute(f"create schema if not exists {schema}")
                cur.execute(f"create table {schema}.{table} ("
                            + ", ".join(f'"{name}" {TYPES.get(kind, kind.lower())}' for name, kind in columns) + ")")
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


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def build(work: Path, label: str, env: dict[str, str], target: str) -> dict[str, float]:
    target_path = work / "target"
    cpu = _child_cpu()
    started = time.perf_counter()
    done = subprocess.run([FLOWMART, "build", "--target", target], cwd=work, env=env | {"DBT_TARGET_PATH":
                          str(target_path)}, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu = _child_cpu() - cpu
    (work / f"build-{label}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"flowmart build ({label}) failed, see {work / f'build-{label}.log'}")
    results = json.loads((target_path / "run_results.json").read_text())
    figures = {"wall": wall, "cpu": cpu, "elapsed": results["elapsed_time"], "nodes": len(results["results"])}
    print(f"{label:<12} wall {wall:6.1f} s   cpu {cpu:6.1f} s   dbt elapsed {figures['elapsed']:6.1f} s   "
          f"({figures['nodes']} nodes)", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=50)
    parser.add_argument("--anchor", default="2026-11-21", help="the sample's last day")
    parser.add_argument("--workdir", default="/tmp/flowmart-flow")
    parser.add_argument("--target", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loaded", help="an already loaded DuckDB warehouse to build from (default: load one)")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    anchor = date.fromisoformat(args.anchor)
    os.environ.setdefault("FLOWMART__PSEUDONYM_SALT", "benchmark")
    sys.path.insert(0, str(ROOT))
    loaded = Path(args.loaded).resolve() if args.loaded else loaded_warehouse(work, args.scale, anchor)
    warehouse = work / "warehouse.duckdb"
    now = f"{anchor + timedelta(days=1)} 00:00:00"
    env = os.environ | {"FLOWMART_DUCKDB_PATH": str(warehouse), "FLOWMART_NOW": now}
    runs = []
    if args.target == "duckdb":
        for i in range(args.repeat):
            shutil.copy(loaded, warehouse)
            runs.append(build(work, f"build {i + 1}", env, "duckdb"))
    else:
        from tests.postgres import PostgresServer

        server = PostgresServer(POSTGRES_SETTINGS).start()
        try:
            conn = server.connect()
            print(f"{copy_raw(loaded, conn, work):,} raw rows copied into PostgreSQL", flush=True)
            conn.close()
            env |= server.env()
            for i in range(args.repeat):
                runs.append(build(work, f"build {i + 1}", env, "postgres"))
        finally:
            server.stop()
    if len(runs) > 1:
        middle = {key: sorted(run[key] for run in runs)[len(runs) // 2] for key in runs[0]}
        print(f"{'median':<12} wall {middle['wall']:6.1f} s   cpu {middle['cpu']:6.1f} s   "
              f"dbt elapsed {middle['elapsed']:6.1f} s", flush=True)


if __name__ == "__main__":
    main()
