"""The benchmark harness: every step of a run on the sample organisation, each beside its floor, in one run.

    .venv/bin/python -m benchmarks.harness --scale 10 --workdir /tmp/fm-harness [--latency 0.15]
        [--sources org,jira] [--anchor 2026-11-21] [--out FILE.jsonl] [--reuse-load]

1. `generate`: the sample organisation at that scale (`flowmart sample`); fractional scales work (0.05).
2. The local API server (pipelines.sample.server) serves it from a child process, with `--latency` seconds
   added to every answer when given (SampleApiServer's `latency=`); `load <source>`: `flowmart load <source>`
   with the sample's org config, for every source the sample configures, in the order `flowmart run` loads
   them (`--sources` keeps some: at scale 50 GitHub takes most of an hour).
3. Floors of the Jira load, from the same server: `jira pages fetch` (the same search pages, 100 issues with
   their changelogs each, and the changelog pages of the longer histories, fetched one after the other and
   written to files) and `jira read_json` (DuckDB's read_json of those files into an issue table and a
   changelog-item table).
4. `build`: `flowmart build` (every model, every data test; no unit tests) with the clock pinned at the day
   after the sample's last day (FLOWMART_NOW).
5. Floor of the build: `flow SQL floor`, benchmarks/floor_flow.sql on the raw tables: the team-month figures of
   flow_metrics_by_team (items completed, flow time p50 / p85, flow efficiency, average and end-of-month flow
   load). The harness stops with an error when any figure differs from the mart's.

Every step runs in a child process; one JSON record per step (step, scale, rows, wall s, CPU s of the child
and its children, peak memory of the child) is appended to `--out` (default <workdir>/harness.jsonl), and a
table with the ratios to the floors is printed. `--reuse-load` starts from the warehouse an earlier run left
loaded in the workdir (same scale and anchor) and times the build and its floor only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import select
import shutil
import subprocess
import sys
import time
import urllib.request
from base64 import b64encode
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FLOWMART = str(Path(sys.executable).with_name("flowmart"))
FLOOR_SQL = Path(__file__).with_name("floor_flow.sql")
# the figures the SQL floor and the mart must agree on (team, period_start are the key)
FIGURES = ["items_completed", "flow_time_p50_days", "flow_time_p85_days", "flow_efficiency_pct", "flow_load_avg",
           "flow_load_end"]
SOURCE_ORDER = ["org", "jira", "github", "git", "survey", "delivery"]


class FloorMismatch(AssertionError):
    """The SQL floor and the marts disagree."""


# --- steps in child processes ---------------------------------------------------------------------------


def timed(step: str, command: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run `command` as a child process; its wall time, CPU time (user + system, its children included) and
    peak resident memory (ru_maxrss of the child: its largest process)."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"step {step!r} failed (exit {process.returncode}), see {log}:\n"
                         + "\n".join(log.read_text().splitlines()[-15:]))
    return {"step": step, "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mb": round(usage.ru_maxrss / 1024, 1)}


def _task(name: str, *args: str) -> list[str]:
    return [PYTHON, "-m", "benchmarks.harness", "--task", name, *args]


class Server:
    """The sample API server in a child process (serving on the other core, as a real Jira would), with
    `latency` passed to SampleApiServer only when set. It serves until its stdin (a pipe from here) closes."""

    def __init__(self, sample: Path, latency: float | None) -> None:
        extra = ["--latency", str(latency)] if latency is not None else []
        self.process = subprocess.Popen(_task("serve", str(sample), *extra), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, cwd=ROOT)
        ready, _, _ = select.select([self.process.stdout], [], [], 300)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            self.close()
            raise SystemExit(f"the sample API server did not start (it said {line!r})")
        self.url = line

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(sample: str, latency: float | None) -> None:
    """(child) Serve the sample until stdin closes."""
    import threading

    from pipelines.sample.server import SampleApiServer

    server = SampleApiServer(sample, latency=latency)
    threading.Thread(target=server._httpd.serve_forever, daemon=True).start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


# --- the Jira loader's floor ----------------------------------------------------------------------------


def fetch_pages(url: str, pages: Path) -> None:
    """(child) The loader's requests, without the loader: the search pages (POST /rest/api/3/search/jql, every
    field, changelogs expanded, 100 issues a page, ordered by `updated`) and the changelog pages of the issues
    whose changelog the search truncated, each answer written as it came."""
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir(parents=True)
    auth = "Basic " + b64encode(b"bench@acme.example:token").decode()
    jql = (pages.parent / "jql.txt").read_text().strip()

    def call(path: str, body: dict[str, Any] | None = None) -> bytes:
        request = urllib.request.Request(url + path, data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": auth, "Content-Type": "application/json"},
                                         method="POST" if body is not None else "GET")
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.read()

    token = None
    n = 0
    while True:
        body: dict[str, Any] = {"jql": f"({jql}) ORDER BY updated ASC", "maxResults": 100, "fields": ["*all"],
                                "expand": "changelog"}
        if token:
            body["nextPageToken"] = token
        raw = call("/rest/api/3/search/jql", body)
        (pages / f"search-{n:06d}.json").write_bytes(raw)
        data = json.loads(raw)
        for issue in data["issues"]:
            log = issue.get("changelog") or {}
            if log.get("startAt", 0) > 0 or len(log.get("histories") or []) < log.get("total", 0):
                start = 0
                while True:
                    raw_log = call(f"/rest/api/3/issue/{issue['id']}/changelog?startAt={start}&maxResults=100")
                    (pages / f"changelog-{issue['id']}-{start:05d}.json").write_bytes(raw_log)
                    part = json.loads(raw_log)
                    start += len(part["values"])
                    if part.get("isLast", True) or not part["values"]:
                        break
        n += 1
        token = data.get("nextPageToken")
        if data.get("isLast", token is None) or not token:
            break


def read_pages(pages: Path, result: Path) -> None:
    """(child) DuckDB read_json of the fetched pages into an issue table and a changelog-item table (the
    embedded histories of complete changelogs, the changelog pages of the others)."""
    import duckdb

    conn = duckdb.connect(str(pages.parent / "read_json.duckdb"))
    try:
        conn.execute("create or replace table issues as select unnest(issues, max_depth := 2) "
                     f"from read_json('{pages}/search-*.json', maximum_object_size = 1000000000)")
        conn.execute("""
            create or replace table changelog_items as
            with embedded as (
                select id as issue_id, unnest(changelog.histories) as h from issues
                where changelog.startAt = 0 and len(changelog.histories) >= changelog.total
            ),
            paged as (
                select regexp_extract(filename, 'changelog-([^-]+)-', 1) as issue_id, unnest(values) as h
                from read_json('""" + str(pages) + """/changelog-*.json', filename = true,
                               maximum_object_size = 1000000000)
            ),
            histories as (select * from embedded union all select * from paged)
            select issue_id, h.id as history_id, h.created as changed_at, unnest(h.items, max_depth := 2)
            from histories
        """)
        rows = conn.execute("select (select count(*) from issues) + (select count(*) from changelog_items)")
        result.write_text(json.dumps({"rows": rows.fetchone()[0]}))
    finally:
        conn.close()


# --- the build's floor ----------------------------------------------------------------------------------


def floor_sql(warehouse: Path, now: str, result: Path) -> None:
    """(child) benchmarks/floor_flow.sql on the warehouse's raw tables; its rows to `result`."""
    import duckdb

    sql = FLOOR_SQL.read_text().replace(":now", f"'{now}'")
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = conn.execute(sql)
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()
    result.write_text(json.dumps(rows, default=str))


def _same(a: Any, b: Any) -> bool:
    """Equal, doubles to 6 significant digits."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return a == b or math.isclose(float(a), float(b), rel_tol=5e-6, abs_tol=1e-9)
    return a == b


def check_floor(warehouse: Path, floor_rows: list[dict[str, Any]]) -> int:
    """Every team-month of the SQL floor equals flow_metrics_by_team's (and the other way round); returns the
    number of team-months compared. Raises FloorMismatch naming the first differences."""
    import duckdb

    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = conn.execute(f"select team, cast(period_start as varchar), {', '.join(FIGURES)} "
                              "from marts.flow_metrics_by_team where grain = 'month'")
        marts = {(r[0], r[1]): dict(zip(FIGURES, r[2:], strict=True)) for r in cursor.fetchall()}
    finally:
        conn.close()
    floor = {(r["team"], str(r["period_start"])[:10]): r for r in floor_rows}
    problems = [f"{key}: only in the marts" for key in marts.keys() - floor.keys()]
    problems += [f"{key}: only in the floor" for key in floor.keys() - marts.keys()]
    for key in sorted(marts.keys() & floor.keys()):
        problems += [f"{key} {name}: mart {marts[key][name]!r}, floor {floor[key][name]!r}"
                     for name in FIGURES if not _same(marts[key][name], floor[key][name])]
    if problems:
        raise FloorMismatch(f"the SQL floor and flow_metrics_by_team differ in {len(problems)} figures:\n  "
                            + "\n  ".join(problems[:20]))
    return len(marts)


# --- the run ----------------------------------------------------------------------------------------------


def _raw_rows(warehouse: Path, schema_prefix: str) -> int:
    import duckdb

    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = conn.execute("select schema_name, table_name from duckdb_tables() where starts_with(schema_name, ?) "
                              "and not starts_with(table_name, '_dlt')", [schema_prefix]).fetchall()
        return sum(conn.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables)
    finally:
        conn.close()


def _model_rows(warehouse: Path) -> int:
    import duckdb

    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = conn.execute("select schema_name, table_name from duckdb_tables() "
                              "where schema_name in ('intermediate', 'marts')").fetchall()
        return sum(conn.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables)
    finally:
        conn.close()


def _sample_sources(sample: Path) -> list[str]:
    from orchestration import runner
    from pipelines.orgconfig import load_org_config

    org = load_org_config(sample / "org.yml")
    sources = [name for name in ("jira", "github", "git", "survey", "delivery")
               if name in runner.available_loaders()]
    wanted = ["org", "jira"]
    wanted += ["github"] if org.github.repositories else []
    wanted += ["git"] if org.git.repositories else []
    wanted += ["survey"] if (org.surveys.folder or org.surveys.files) else []
    wanted += ["delivery"] if org.delivery.files else []
    return [name for name in SOURCE_ORDER if name in wanted and (name == "org" or name in sources)]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    anchor = date.fromisoformat(args.anchor)
    now = f"{anchor + timedelta(days=1)} 00:00:00"
    sample = work / f"sample-{args.scale:g}-{anchor}"
    loaded = work / f"loaded-{args.scale:g}-{anchor}.duckdb"
    warehouse = work / "warehouse.duckdb"
    env = os.environ | {"FLOWMART_DUCKDB_PATH": str(warehouse), "FLOWMART_PIPELINES_DIR": str(work / "pipelines"),
                        "FLOWMART_TARGET": "duckdb", "FLOWMART_NOW": now, "DBT_TARGET_PATH": str(work / "target"),
                        "DBT_LOG_PATH": str(work / "dbt-logs"), "FLOWMART__PSEUDONYM_SALT": "benchmark",
                        "PYTHONPATH": str(ROOT)}
    base = {"scale": args.scale, "latency": args.latency, "run": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    records: list[dict[str, Any]] = []

    def record(rec: dict[str, Any], rows: int | None, **extra: Any) -> None:
        rec = base | rec | {"rows": rows} | extra
        records.append(rec)
        with Path(args.out or work / "harness.jsonl").open("a") as out:
            out.write(json.dumps(rec) + "\n")
        print(f"  {rec['step']:<20} {rows if rows is not None else '':>10} rows  wall {rec['wall_s']:8.2f} s  "
              f"cpu {rec['cpu_s']:8.2f} s  peak {rec['peak_mb']:7.0f} MB", flush=True)

    if args.reuse_load and loaded.exists():
        base["sources"] = loaded.with_suffix(".sources").read_text()
        print(f"reusing the warehouse loaded in {loaded} ({base['sources']})", flush=True)
    else:
        if (sample / "org.yml").exists():
            shutil.rmtree(sample)
        rec = timed("generate", [FLOWMART, "sample", "--out", str(sample), "--scale", str(args.scale),
                                 "--anchor", args.anchor], env, logs / "generate.log")
        sources = _sample_sources(sample)
        if args.sources:
            keep = {"org", *args.sources.split(",")}
            skipped = [s for s in sources if s not in keep]
            sources = [s for s in sources if s in keep]
            if skipped:
                print(f"sources left out (--sources): {', '.join(skipped)}", flush=True)
        base["sources"] = ",".join(sources)
        with (sample / "jira" / "issues.jsonl").open("rb") as issues:
            record(rec, sum(1 for _ in issues))
        for path in (warehouse, loaded):
            path.unlink(missing_ok=True)
        shutil.rmtree(work / "pipelines", ignore_errors=True)
        server = Server(sample, args.latency)
        try:
            env_api = env | {"SOURCES__JIRA__BASE_URL": server.url, "SOURCES__JIRA__EMAIL": "bench@acme.example",
                             "SOURCES__JIRA__API_TOKEN": "token", "SOURCES__GITHUB__BASE_URL": server.url,
                             "SOURCES__GITHUB__ACCESS_TOKEN": "token"}
            for source in sources:
                before = _raw_rows(warehouse, "raw_") if warehouse.exists() else 0
                rec = timed(f"load {source}", [FLOWMART, "load", source, "--org-config", str(sample / "org.yml")],
                            env_api, logs / f"load-{source}.log")
                record(rec, _raw_rows(warehouse, "raw_") - before)
            if "jira" in sources:
                from pipelines.orgconfig import load_org_config

                floor_dir = work / "jira-floor"
                floor_dir.mkdir(exist_ok=True)
                (floor_dir / "jql.txt").write_text(load_org_config(sample / "org.yml").jira_scope_jql())
                rec = timed("jira pages fetch", _task("fetch-pages", server.url, str(floor_dir / "pages")), env,
                            logs / "jira-fetch.log")
                record(rec, len(list((floor_dir / "pages").iterdir())), floor_of="load jira", unit="pages")
        finally:
            server.close()
        if "jira" in sources:
            result = work / "jira-floor" / "read_json.json"
            rec = timed("jira read_json", _task("read-pages", str(work / "jira-floor" / "pages"), str(result)),
                        env, logs / "jira-read-json.log")
            record(rec, json.loads(result.read_text())["rows"], floor_of="load jira")
            (work / "jira-floor" / "read_json.duckdb").unlink(missing_ok=True)
        shutil.copy(warehouse, loaded)
        loaded.with_suffix(".sources").write_text(base["sources"])
    shutil.copy(loaded, warehouse)
    select = ["--select", *args.select.split()] if args.select else []
    rec = timed("build", [FLOWMART, "build", *select], env, logs / "build.log")
    record(rec, _model_rows(warehouse))
    result = work / "floor.json"
    rec = timed("flow SQL floor", _task("floor-sql", str(warehouse), now, str(result)), env, logs / "floor.log")
    floor_rows = json.loads(result.read_text())
    record(rec, len(floor_rows), floor_of="build")
    compared = check_floor(warehouse, floor_rows)
    print(f"the SQL floor equals flow_metrics_by_team on all {compared} team-months "
          f"({', '.join(FIGURES)})", flush=True)
    return records


def table(records: list[dict[str, Any]]) -> str:
    """The records as a Markdown table, each floor beside the step it is the floor of, with the ratio."""
    lines = ["| step | rows | wall s | CPU s | peak MB | floor: wall s (CPU s) | step ÷ floor, wall (CPU) |",
             "|---|---|---|---|---|---|---|"]
    for r in records:
        if r.get("floor_of"):
            continue
        floors = [f for f in records if f.get("floor_of") == r["step"]]
        floor_text = ratio = ""
        if floors:
            parts = [f"{f['step']} {f['wall_s']:.1f} ({f['cpu_s']:.1f})" for f in floors]
            wall = sum(f["wall_s"] for f in floors)
            cpu = sum(f["cpu_s"] for f in floors)
            floor_text = "; ".join(parts)
            ratios = [f"÷ {f['step']}: {r['wall_s'] / f['wall_s']:.1f} ({r['cpu_s'] / max(f['cpu_s'], 0.01):.1f})"
                      for f in floors]
            if len(floors) > 1:
                ratios.append(f"÷ both: {r['wall_s'] / wall:.1f} ({r['cpu_s'] / max(cpu, 0.01):.1f})")
            ratio = "; ".join(ratios)
        rows = f"{r['rows']:,}" if r.get("rows") is not None else ""
        lines.append(f"| {r['step']} | {rows} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_mb']:.0f} | "
                     f"{floor_text} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--anchor", default="2026-11-21", help="the sample's last day")
    parser.add_argument("--workdir", default="/tmp/fm-harness")
    parser.add_argument("--latency", type=float, help="seconds the local API server adds to every answer")
    parser.add_argument("--sources", help="load only these (comma-separated; org always), e.g. jira,org")
    parser.add_argument("--select", help="build only these dbt selectors (default: everything), e.g. "
                        "'+flow_metrics_by_team' for the floor's mart alone")
    parser.add_argument("--out", help="the JSONL file the records are appended to (default: <workdir>/harness.jsonl)")
    parser.add_argument("--reuse-load", action="store_true",
                        help="start from the warehouse an earlier run loaded in the workdir: build and floor only")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.task:
        tasks = {"serve": lambda: serve(rest[0], args.latency),
                 "fetch-pages": lambda: fetch_pages(rest[0], Path(rest[1])),
                 "read-pages": lambda: read_pages(Path(rest[0]), Path(rest[1])),
                 "floor-sql": lambda: floor_sql(Path(rest[0]), rest[1], Path(rest[2]))}
        tasks[args.task]()
        return
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    print(f"harness: scale {args.scale:g}, anchor {args.anchor}, workdir {args.workdir}"
          + (f", latency {args.latency} s" if args.latency is not None else ""), flush=True)
    records = run(args)
    print(f"\n{table(records)}\n\nharness done in {time.perf_counter() - started:.0f} s; records in "
          f"{args.out or Path(args.workdir) / 'harness.jsonl'}", flush=True)


if __name__ == "__main__":
    main()
