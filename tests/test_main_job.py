"""The whole main job, as a user runs it: `flowmart run` on the sample organisation, into a temporary
warehouse, on DuckDB (twice: idempotent) and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow
FLOWMART = str(Path(sys.executable).with_name("flowmart"))


def _run(tmp: Path, *args: str, env: dict[str, str] | None = None,
         command: str = "run") -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    environment |= {"FLOWMART_DUCKDB_PATH": str(tmp / "warehouse" / "flowmart.duckdb"),
                    "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"} | (env or {})
    environment.pop("FLOWMART_PIPELINES_DIR", None)
    # the sample ends today (its default), so the summary's last complete month has data
    return subprocess.run([FLOWMART, command, *args], cwd=tmp, env=environment,
                          capture_output=True, text=True, timeout=900)


def _counts(db: Path) -> dict[str, int]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        tables = conn.execute("select table_schema, table_name from information_schema.tables "
                              "where (table_schema like 'raw_%' or table_schema = 'marts') "
                              "and table_name not like '_dlt%'").fetchall()
        return {f"{s}.{t}": conn.execute(f'select count(*) from {s}."{t}"').fetchone()[0] for s, t in tables}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("run")
    return tmp, _run(tmp)


def test_run_on_the_sample_says_so_first_and_ends_with_a_summary(sample_run):
    tmp, result = sample_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.splitlines()[0].startswith("flowmart: no source configured, running on the built-in "
                                                    "sample organisation")
    summary = result.stdout[result.stdout.index("flowmart run summary"):]
    raw = summary[summary.index("  raw_jira: "):].splitlines()  # its line, and the lines it wraps onto
    jira = " ".join([raw[0], *itertools.takewhile(lambda line: line.startswith("    "), raw[1:])])
    assert " issues " in jira and " changelog_items " in jira, jira
    assert " 0 failed" in summary
    flow, delivery = summary.split("Delivery (")
    for stream in ("Payments", "Growth", "Platform"):
        line = next(x for x in flow.splitlines() if x.strip().startswith(stream))
        completed = int(line.split("items completed ")[1].split(",")[0])
        flow_days = float(line.split("median flow time (days) ")[1].split(",")[0])
        assert completed > 100, line  # ~75 items a month per team
        assert 1 < flow_days < 60, line
        # the delivery section reads the delivery mart: frequency and change lead time per value stream
        line = next(x for x in delivery.splitlines() if x.strip().startswith(stream))
        deployments = int(line.split("deployments ")[1].split(",")[0])
        days_per_week = float(line.split("deploy-days/week ")[1].split(" ")[0])
        lead_p50 = float(line.split("change lead time p50 ")[1].split(" ")[0])
        assert deployments > 10, line  # each repository deploys a batch of merges a few times a week
        assert 1 <= days_per_week <= 7, line
        assert 1 < lead_p50 < 24 * 14, line  # coding, review and deploy waits of hours to days


def test_a_run_on_the_sample_prints_fewer_than_80_lines_and_logs_dbt_in_full_to_a_file(sample_run):
    """`make run` on a fresh clone: progress lines instead of dbt's line per model and test; dbt's whole log
    is in warehouse/logs/dbt.log, which the summary names."""
    tmp, result = sample_run
    assert result.returncode == 0
    printed = result.stdout.splitlines() + result.stderr.splitlines()
    # a line or two per raw schema, a progress line per quarter of dbt, one line per value stream in each of the
    # summary's sections (month, delivery, outcomes, value stream map, sentiment) and the loaders' log lines
    assert len(printed) < 80, "\n".join(printed)
    assert not [line for line in printed if " START " in line or " PASS " in line or " OK created " in line]
    progress = [line for line in printed if line.startswith("dbt build: ")]
    assert 1 <= len(progress) <= 4 and progress[-1].endswith("models and tests done"), progress
    dbt_log = tmp / "warehouse" / "logs" / "dbt.log"
    assert f"Logs: {dbt_log} (dbt), {dbt_log.with_name('flowmart.log')} (loaders)" in printed
    logged = dbt_log.read_text()
    assert " START sql " in logged and " PASS " in logged and "\x1b[" not in logged  # in full, without colours
    assert "loaded jira in" in dbt_log.with_name("flowmart.log").read_text()


def test_the_summary_shows_the_non_empty_raw_tables_and_how_to_map_the_unmapped_statuses(sample_run):
    tmp, result = sample_run
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    start = lines.index("Rows in the raw tables (the empty ones left out):") + 1
    tables, schema = {}, None
    for line in lines[start:]:
        if line.startswith("  raw_"):  # "  raw_jira: issues 15,029, changelog_items 90,946, ..."
            schema, line = line.strip().split(": ", 1)
        elif not line.startswith("    "):  # a schema's line wraps onto lines indented further
            break
        for part in line.strip().rstrip(",").split(", "):
            table, count = part.split()
            tables[f"{schema}.{table}"] = int(count.replace(",", ""))
    # the sample has no local Git repository and no delivery-events file: their empty tables are left out
    assert tables and min(tables.values()) > 0 and not [t for t in tables if t.startswith(("raw_git.", "raw_deli"))]
    assert "raw_jira.issues" in tables and "raw_github.pull_requests" in tables
    # the sample's Data Platform team uses one status its org config does not map (dbt warns about it)
    assert "1 warned (assert_every_status_is_mapped)" in result.stdout
    warning = next(i for i, line in enumerate(lines) if line.startswith("Not in the org config's status mapping"))
    assert "assert_every_status_is_mapped): Awaiting Customer. These org config lines" in lines[warning]
    assert lines[warning + 1:warning + 5] == ["  jira:", "    status_mapping:", "      DAT:",
                                              "        Awaiting Customer: active"]


def test_the_summary_headlines_read_the_marts_only(sample_run, tmp_path, monkeypatch):
    """A BI role reads the marts, not staging or intermediate: so do the summary's figures."""
    from orchestration import summary
    from orchestration.warehouse import Warehouse

    tmp, result = sample_run
    assert result.returncode == 0
    marts_only = tmp_path / "marts_only.duckdb"
    shutil.copy(tmp / "warehouse" / "flowmart.duckdb", marts_only)
    conn = duckdb.connect(str(marts_only))
    for schema in ("staging", "intermediate"):
        conn.execute(f"drop schema {schema} cascade")
    conn.close()
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(marts_only))
    start, _end = summary.last_complete_month()
    with Warehouse("duckdb") as wh:
        figures = summary.headlines(wh, start)
        ladders = summary.value_stream_map(wh, summary.last_complete_quarter())
    assert sorted(figures) == ["Growth", "Payments", "Platform"]
    # the value stream map of the last complete quarter: rolled %C&A and activity ratio per value stream
    assert [line.split()[0] for line in ladders] == ["Growth", "Payments", "Platform"], ladders
    assert all(line in result.stdout.splitlines() and "rolled %C&A " in line for line in ladders), ladders
    for stream, metrics in figures.items():
        printed = next(x for x in result.stdout.splitlines() if x.strip().startswith(stream))
        assert printed.split(None, 1)[1] == (f"items completed {metrics['items completed']}, "
                                             f"median flow time (days) {metrics['median flow time (days)']:.1f}")


def test_first_mart_has_plausible_weekly_numbers_for_every_team(sample_run):
    tmp, result = sample_run
    assert result.returncode == 0
    conn = duckdb.connect(str(tmp / "warehouse" / "flowmart.duckdb"), read_only=True)
    rows = conn.execute("""
        select team, count(*) as weeks, sum(items_created) as created, sum(items_completed) as completed,
               avg(items_completed) as per_week
        from marts.team_weekly_throughput group by team order by team""").fetchall()
    teams = [r[0] for r in conn.execute("select team from staging.stg_org__teams").fetchall()]
    conn.close()
    assert sorted(r[0] for r in rows) == sorted(teams) and len(teams) == 8
    for team, weeks, created, completed, per_week in rows:
        assert 100 <= weeks <= 110, (team, weeks)  # 24 months of weeks, zeros included
        assert completed <= created
        assert 5 <= per_week <= 40, (team, per_week)  # about 75 items a month per team


def test_a_second_run_gives_the_same_row_counts(sample_run):
    tmp, first = sample_run
    assert first.returncode == 0
    before = _counts(tmp / "warehouse" / "flowmart.duckdb")
    second = _run(tmp)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "already in" in second.stderr + second.stdout  # the sample is not generated again
    assert _counts(tmp / "warehouse" / "flowmart.duckdb") == before


def test_a_change_of_the_org_rules_rebuilds_the_history(sample_run):
    """Every run rebuilds the models from the full history: when the org config's ownership rules change,
    past items move to their new team too."""
    import yaml

    tmp, first = sample_run
    assert first.returncode == 0
    org_file = tmp / "warehouse" / "sample" / "org.yml"
    config = yaml.safe_load(org_file.read_text())
    rule = config["ownership"]["jira"][0]
    old_team = rule["team"]
    new_team = next(t["name"] for t in config["teams"] if t["name"] != old_team)
    rule["team"] = new_team
    org_file.write_text(yaml.safe_dump(config, sort_keys=False))
    result = _run(tmp)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    conn = duckdb.connect(str(tmp / "warehouse" / "flowmart.duckdb"), read_only=True)
    teams = dict(conn.execute("select team, count(*) from marts.completed_work_items where project_key = ? "
                              "group by team", [rule["project"]]).fetchall())
    conn.close()
    assert old_team not in teams and teams.get(new_team, 0) > 50, teams


def test_a_failing_dbt_test_is_printed_with_its_name_not_the_whole_log(sample_run, tmp_path):
    tmp, first = sample_run
    assert first.returncode == 0
    (tmp_path / "warehouse").mkdir()
    shutil.copy(tmp / "warehouse" / "flowmart.duckdb", tmp_path / "warehouse" / "flowmart.duckdb")
    conn = duckdb.connect(str(tmp_path / "warehouse" / "flowmart.duckdb"))
    conn.execute("insert into raw_jira.issues select * from raw_jira.issues order by loaded_at desc limit 1")
    conn.close()
    result = _run(tmp_path, command="build")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(" FAIL 1 unique_stg_jira__issues_issue_id " in line for line in lines), result.stdout
    assert "Failure in test unique_stg_jira__issues_issue_id (models/staging/jira/_jira__models.yml)" in lines
    assert lines[-1].startswith("dbt: ") and ", 1 failed" in lines[-1]
    assert len(lines) < 15 and not [line for line in lines if " PASS " in line]


def _every_bi_question_runs_as_the_bi_role(postgres) -> None:
    """The report's questions, asked as Metabase asks them: as `metabase_reader`, made by the example's script."""
    from orchestration.report import queries

    script = (Path(__file__).resolve().parent.parent / "examples" / "postgres" / "metabase_reader.sql").read_text()
    owner = postgres.connect()
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute("drop role if exists metabase_reader")
        cur.execute(script.replace(":'reader_password'", "'reader-pw'"))
    owner.close()
    dbname = postgres.env()["FLOWMART_PG_DBNAME"]
    reader = postgres.connect(dbname, "metabase_reader", "reader-pw")
    try:
        with reader.cursor() as cur:
            for name, sql in queries().items():
                cur.execute(sql)
                assert cur.fetchall(), f"{name} returned no row on PostgreSQL"
    finally:
        reader.close()
        owner = postgres.connect(dbname)
        with owner.cursor() as cur:
            cur.execute("drop owned by metabase_reader")
            cur.execute("drop role metabase_reader")
        owner.close()


@pytest.mark.postgres
def test_the_same_run_builds_and_tests_on_postgresql(postgres, tmp_path):
    """First run, then a second run (the same marts) and dbt's unit tests, all on PostgreSQL."""

    def marts() -> tuple:
        conn = postgres.connect()
        with conn.cursor() as cur:
            cur.execute("select count(distinct team), sum(items_completed) from marts.team_weekly_throughput")
            teams, completed = cur.fetchone()
            cur.execute("select count(*), sum(flow_time_days) from marts.completed_work_items")
            flow = cur.fetchone()
            cur.execute("select count(*), sum(wait_days) from marts.flow_waiting_time_by_status")
            waits = cur.fetchone()
            # naive UTC instants, and the UTC day and week they fall in
            cur.execute("select min(created_at), max(completed_at), count(distinct completed_week) "
                        "from marts.completed_work_items")
            instants = cur.fetchone()
        conn.close()
        return teams, completed, flow, waits, instants

    # the first run's sessions are in a time zone far from UTC (PGTZ), the second's in UTC: the same marts
    first = _run(tmp_path, "--target", "postgres", "--scale", "0.2",
                 env=postgres.env() | {"PGTZ": "America/Los_Angeles", "TZ": "America/Los_Angeles"})
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    teams, completed, flow, waits, instants = marts()
    assert teams == 8 and completed > 100 and flow[0] > 100 and waits[0] > 100
    _every_bi_question_runs_as_the_bi_role(postgres)
    report = _run(tmp_path, "--target", "postgres", "--out", str(tmp_path / "report.html"), env=postgres.env(),
                  command="report")
    assert report.returncode == 0 and (tmp_path / "report.html").stat().st_size > 1_000_000, report.stderr
    second = _run(tmp_path, "--target", "postgres", "--scale", "0.2", env=postgres.env())
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    again = marts()
    assert again[:2] == (teams, completed) and again[2][0] == flow[0] and again[3][0] == waits[0]
    assert abs(again[2][1] - flow[1]) < 1e-6 * flow[1] and abs(again[3][1] - waits[1]) < 1e-6 * waits[1]
    assert again[4] == instants

    # dbt's unit tests (model logic), on PostgreSQL: the scheduled runs leave them out
    environment = os.environ | postgres.env() | {"FLOWMART_TARGET": "postgres"}
    root = Path(__file__).resolve().parent.parent
    unit = subprocess.run([str(Path(sys.executable).with_name("dbt")), "test", "--select", "test_type:unit",
                           "--target", "postgres", "--project-dir", str(root / "dbt_project"),
                           "--profiles-dir", str(root), "--target-path", str(tmp_path / "target")],
                          env=environment, capture_output=True, text=True, timeout=600)
    assert unit.returncode == 0, unit.stdout[-4000:] + unit.stderr[-4000:]
    done = unit.stdout[unit.stdout.index("Done. PASS="):]
    assert int(done.split("PASS=")[1].split()[0]) >= 15 and "ERROR=0" in done, done
