"""Benchmark: `dbt build` of the flow models, full and incremental after one day of tracker work.

    .venv/bin/python -m benchmarks.flow_build --scale 50 [--workdir /tmp/flowmart-flow] [--transitions 6000]
        [--repeat 3] [--variants]

1. The sample organisation at that scale (generated once into the workdir), its org config and Jira
   issues loaded over HTTP from the local API server into a fresh DuckDB file (kept, and reused by the
   next run of the benchmark). Its Jira rows are then stamped as a warehouse loaded every day would have
   them (pipelines/sample/daily_loads.py).
2. Full build of the flow models and everything they read (`--full-refresh`), clock at the day after the
   sample's last day, 00:00 UTC (FLOWMART_NOW); its build state recorded as `flowmart run` records it.
3. One day of work in the tracker: `--transitions` open items each move one status forward during that
   day, through the sample server's store; then an incremental Jira load.
4. Incremental build, clock one day later, planned as the daily runs plan it (orchestration/runner.py
   plan_build: data tests of the big models on the changed rows, the staging views of the unchanged org
   rules, their tests and the rule checks left out); a second incremental build with nothing new (the cost
   of a run without new data), one with every test on every row (the weekly run); then a full refresh at
   the same clock, and every flow table of the incremental result compared with it.

With --variants, the daily plan then runs again with parts left out (no data tests; no Jira staging views),
to show where a daily run's time goes (daily_run_variants).

Unit tests are left out, as in the daily runs. Prints wall time, dbt's own elapsed time and the summed
execution time of models and tests for each build. With --repeat N, the full build and the incremental
build after the day of work each run N times from the same starting file, and their medians are compared
(a shared 2-core machine varies by ±1 s from one build to the next).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).with_name("dbt"))
SELECT = ["+path:models/intermediate/flow", "+path:models/marts/flow"]
FLOW_FOLDERS = ("intermediate/core", "intermediate/flow", "marts/flow")
NEXT_STATUS = {"Backlog": "To Do", "To Do": "In Progress", "In Progress": "In Review",
               "In Review": "Ready for QA", "Ready for QA": "In QA", "In QA": "Ready for Release",
               "Ready for Release": "Done", "Blocked": "In Progress"}


def dbt_build(work: Path, label: str, now: datetime, *args: str, scope: str = "all") -> dict[str, float]:
    env = os.environ | {"FLOWMART_NOW": f"{now:%Y-%m-%d %H:%M:%S}", "FLOWMART_TEST_SCOPE": scope}
    command = [DBT, "build", "--select", *SELECT, "--indirect-selection", "cautious",
               "--exclude-resource-type", "unit_test", "--profiles-dir", str(ROOT),
               "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *args]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT / "dbt_project", env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    (work / f"dbt-{label}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"dbt build ({label}) failed, see {work / f'dbt-{label}.log'}")
    results = json.loads((work / "target" / "run_results.json").read_text())
    shutil.copy(work / "target" / "run_results.json", work / f"run_results-{label}.json")

    def summed(kind: str) -> float:
        return sum(r["execution_time"] for r in results["results"] if r["unique_id"].startswith(kind + "."))

    figures = {"wall": wall, "elapsed": results["elapsed_time"], "models": summed("model"),
               "tests": summed("test"), "nodes": len(results["results"])}
    print(f"{label:<22} wall {wall:6.1f} s   dbt elapsed {figures['elapsed']:6.1f} s   "
          f"Σ models {figures['models']:6.1f} s   Σ tests {figures['tests']:6.1f} s   "
          f"({figures['nodes']} nodes)", flush=True)
    return figures


def repeated(times: int, warehouse: Path, start: Path, build) -> dict[str, float]:
    """`build()` `times` times, each from the warehouse file as it is now (kept in `start`); the median of
    each figure."""
    if times > 1:
        shutil.copy(warehouse, start)
    runs = []
    for i in range(times):
        if i:
            shutil.copy(start, warehouse)
        runs.append(build())
    if times > 1:
        start.unlink()
    return medians(runs)


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each figure of the builds `runs` (printed when there is more than one)."""
    if len(runs) == 1:
        return runs[0]
    middle = {key: sorted(run[key] for run in runs)[len(runs) // 2] for key in runs[0]}
    print(f"{'  median of ' + str(len(runs)):<22} wall {middle['wall']:6.1f} s   dbt elapsed "
          f"{middle['elapsed']:6.1f} s   Σ models {middle['models']:6.1f} s   Σ tests "
          f"{middle['tests']:6.1f} s", flush=True)
    return middle


def one_day_of_work(sample: Path, day: datetime, transitions: int) -> None:
    """Move `transitions` open items one status forward during `day`, then load Jira incrementally."""
    from pipelines import jira
    from pipelines.orgconfig import load_org_config
    from pipelines.sample.server import SampleApiServer

    config = load_org_config(sample / "org.yml")
    with SampleApiServer(sample) as server:
        os.environ.update(SOURCES__JIRA__BASE_URL=server.url, SOURCES__JIRA__EMAIL="bench@acme.example",
                          SOURCES__JIRA__API_TOKEN="token")
        picked = []
        with (sample / "jira" / "issues.jsonl").open() as f:
            for line in f:
                issue = json.loads(line)
                fields = issue["fields"]
                if fields["status"]["name"] in NEXT_STATUS and fields["issuetype"]["name"] not in (
                        "Epic", "Initiative"):
                    picked.append((issue["key"], fields["status"]["name"]))
                    if len(picked) == transitions:
                        break
        step = timedelta(seconds=(20 * 3600) // max(len(picked), 1))
        for i, (key, status) in enumerate(picked):
            server.apis["jira"].transition(key, NEXT_STATUS[status], at=day + timedelta(hours=2) + i * step)
        started = time.perf_counter()
        jira.load(config, sample)
        print(f"one day of work: {len(picked):,} transitions, incremental Jira load "
              f"{time.perf_counter() - started:.1f} s", flush=True)


def flow_table_names() -> set[str]:
    """The flow and core models' tables, less the record of superseded states (a log of what incremental runs
    replaced, which a full refresh starts empty)."""
    return {p.stem for folder in FLOW_FOLDERS for p in (ROOT / "dbt_project" / "models" / folder).glob("*.sql")
            } - {"int_work_items_superseded"}


def table_differs(conn, schema: str, name: str) -> bool:
    """Whether table `name` differs between the attached databases inc and ref: every column exactly, doubles
    rounded to 1e-6 (a sum of doubles depends on the order of parallel addition); rows that differ only by
    that rounding (values on either side of a rounding boundary) are matched to 2e-6."""
    columns = conn.execute("select column_name, data_type from information_schema.columns where "
                           "table_catalog = 'ref' and table_schema = ? and table_name = ? "
                           "order by ordinal_position", [schema, name]).fetchall()
    doubles = [i for i, (_c, t) in enumerate(columns) if t == "DOUBLE"]
    projection = ", ".join(f'round("{c}", 6)' if t == "DOUBLE" else f'"{c}"' for c, t in columns)
    only = [conn.execute(f'select {projection} from {a}."{schema}"."{name}" except all '
                         f'select {projection} from {b}."{schema}"."{name}"').fetchall()
            for a, b in (("inc", "ref"), ("ref", "inc"))]

    def exact(row: tuple) -> str:
        return repr([v for i, v in enumerate(row) if i not in doubles])

    def close(x: tuple, y: tuple) -> bool:
        return exact(x) == exact(y) and all(
            (x[i] is None and y[i] is None)
            or (x[i] is not None and y[i] is not None and math.isclose(x[i], y[i], abs_tol=2e-6))
            for i in doubles)

    return len(only[0]) != len(only[1]) or not all(
        close(x, y) for x, y in zip(sorted(only[0], key=exact), sorted(only[1], key=exact), strict=True))


def differing_tables(incremental: Path, refreshed: Path) -> list[str]:
    """The flow tables that differ between two warehouse files (see table_differs)."""
    import duckdb

    conn = duckdb.connect()
    conn.execute(f"attach '{incremental}' as inc (read_only)")
    conn.execute(f"attach '{refreshed}' as ref (read_only)")
    try:
        tables = conn.execute("select table_schema, table_name from information_schema.tables where "
                              "table_catalog = 'ref' and table_schema in ('intermediate', 'marts') order by 2"
                              ).fetchall()
        names = flow_table_names()
        return [name for schema, name in tables if name in names and table_differs(conn, schema, name)]
    finally:
        conn.close()


# The Jira staging views the flow models read (the daily plan keeps them, with their tests).
JIRA_VIEWS = ("stg_jira__issues", "stg_jira__changelog_items", "stg_jira__issue_labels",
              "stg_jira__issue_components", "stg_jira__statuses")


def daily_run_variants(work: Path, warehouse: Path, now: datetime, times: int) -> None:
    """Where a daily run's time goes: the daily plan, and the same with parts left out, each run `times`
    times on a fresh copy of the warehouse as the incremental build after the day of work left it (so
    with nothing new, which costs what the day of work costs). Not a plan for the daily runs: the
    variants that leave tests out say what those tests cost."""
    from orchestration import runner

    plan = runner.plan_build("duckdb")
    assert not plan.full_refresh and plan.unchanged, plan
    variants = {
        "daily plan": plan.dbt_args(),
        "no data tests": [*plan.dbt_args(), "--exclude-resource-type", "test", "unit_test"],
        "no Jira staging views": ["--exclude", " ".join([*plan.unchanged, *JIRA_VIEWS]),
                                  "--indirect-selection", "cautious"],
    }
    for label, args in variants.items():
        shutil.copy(work / "after-incremental.duckdb", warehouse)
        repeated(times, warehouse, work / "before-variant.duckdb",
                 lambda label=label, args=args: dbt_build(work, f"variant, {label}", now, *args,
                                                          scope=plan.test_scope))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=50)
    parser.add_argument("--workdir", default="/tmp/flowmart-flow")
    parser.add_argument("--anchor", default=(date.today() - timedelta(days=1)).isoformat(),
                        help="the sample's last day (default: yesterday)")
    parser.add_argument("--transitions", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the full and the incremental build this many times each; compare medians")
    parser.add_argument("--variants", action="store_true",
                        help="then run the daily plan with parts left out (daily_run_variants)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(args.workdir)
    anchor = date.fromisoformat(args.anchor)
    sample = work / f"sample-{args.scale}-{anchor}"
    loaded = work / f"loaded-{args.scale}-{anchor}"
    warehouse = work / "warehouse.duckdb"
    os.environ.setdefault("FLOWMART__PSEUDONYM_SALT", "benchmark")
    os.environ["FLOWMART_DUCKDB_PATH"] = str(warehouse)
    os.environ["FLOWMART_PIPELINES_DIR"] = str(work / "pipelines")
    os.environ["FLOWMART_TARGET"] = "duckdb"
    sys.path.insert(0, str(ROOT))

    from pipelines.sample.daily_loads import stamp_as_daily_loads
    from pipelines.sample.generate import generate_sample

    if not (sample / "org.yml").exists():
        started = time.perf_counter()
        generate_sample(sample, scale=args.scale, anchor=anchor)
        print(f"sample at scale {args.scale} generated in {time.perf_counter() - started:.0f} s", flush=True)
    if not (loaded / "warehouse.duckdb").exists():
        from pipelines import jira, org
        from pipelines.orgconfig import load_org_config
        from pipelines.sample.server import SampleApiServer

        shutil.rmtree(work / "pipelines", ignore_errors=True)
        warehouse.unlink(missing_ok=True)
        config = load_org_config(sample / "org.yml")
        started = time.perf_counter()
        with SampleApiServer(sample) as server:
            os.environ.update(SOURCES__JIRA__BASE_URL=server.url, SOURCES__JIRA__EMAIL="bench@acme.example",
                              SOURCES__JIRA__API_TOKEN="token")
            org.load(config, sample)
            jira.load(config, sample)
        print(f"org and Jira loaded in {time.perf_counter() - started:.0f} s", flush=True)
        shutil.rmtree(loaded, ignore_errors=True)
        loaded.mkdir(parents=True)
        shutil.copy(warehouse, loaded / "warehouse.duckdb")
        shutil.copytree(work / "pipelines", loaded / "pipelines")
    # every run starts from the loaded raw data
    Path(str(warehouse) + ".wal").unlink(missing_ok=True)
    shutil.copy(loaded / "warehouse.duckdb", warehouse)
    shutil.rmtree(work / "pipelines", ignore_errors=True)
    shutil.copytree(loaded / "pipelines", work / "pipelines")
    # as if loaded every day until today (pipelines/sample/daily_loads.py), not in one load minutes ago
    started = time.perf_counter()
    stamp_as_daily_loads(warehouse)
    print(f"Jira rows stamped as loaded daily in {time.perf_counter() - started:.0f} s", flush=True)

    # a full parse: the workdir's partial-parse state may come from another checkout of the project
    subprocess.run([DBT, "parse", "--no-partial-parse", "--profiles-dir", str(ROOT), "--target-path",
                    str(work / "target"), "--log-path", str(work / "logs"), "--quiet"],
                   cwd=ROOT / "dbt_project", check=True)
    day_0 = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC) + timedelta(days=1)
    day_1 = day_0 + timedelta(days=1)
    from orchestration import runner

    def full_build(label: str, now: datetime) -> dict[str, float]:
        """A full refresh, recorded in the warehouse's build state as `flowmart run` records it."""
        figures = dbt_build(work, label, now, "--full-refresh")
        runner.record_build_state("duckdb", runner.plan_build("duckdb", full_refresh=True).fingerprints)
        return figures

    def daily_build(label: str, now: datetime, test_scope: str | None = None) -> dict[str, float]:
        """An incremental build planned as the daily runs plan it (orchestration/runner.py plan_build): the
        big models' tests on the changed rows; the staging views of unchanged org rules, their tests and
        the rule checks left out."""
        plan = runner.plan_build("duckdb", test_scope=test_scope)
        assert not plan.full_refresh, plan.refresh_reasons
        return dbt_build(work, label, now, *plan.dbt_args(), scope=plan.test_scope)

    full = repeated(args.repeat, warehouse, work / "before-full.duckdb", lambda: full_build("full", day_0))
    one_day_of_work(sample, day_0, args.transitions)
    incremental = repeated(args.repeat, warehouse, work / "before-incremental.duckdb",
                           lambda: daily_build("incremental", day_1))
    shutil.copy(warehouse, work / "after-incremental.duckdb")
    daily_build("incremental, no change", day_1)
    daily_build("incremental, all tests", day_1, test_scope="all")
    full_build("full refresh", day_1)
    differing = differing_tables(work / "after-incremental.duckdb", warehouse)
    print(f"incremental / full: wall {incremental['wall'] / full['wall']:.0%}, dbt elapsed "
          f"{incremental['elapsed'] / full['elapsed']:.0%}, Σ models {incremental['models'] / full['models']:.0%}")
    print(f"{len(flow_table_names())} flow tables compared with a full refresh at the same clock: "
          + ("identical" if not differing else f"DIFFERENT: {differing}"))
    if differing:
        raise SystemExit(1)
    if args.variants:
        daily_run_variants(work, warehouse, day_1, max(args.repeat, 2))


if __name__ == "__main__":
    main()
