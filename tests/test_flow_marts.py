"""The flow marts built by dbt on a real DuckDB warehouse, loaded over HTTP from the small sample
organisation: the planted review bottleneck shows up, every mart counts completions by one definition, and
a day of work in the tracker (items finished, reopened, started, canceled, deleted) shows after the next
load and build."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from pipelines import jira, org
from pipelines.orgconfig import load_org_config
from pipelines.sample.server import SampleApiServer
from pipelines.sample.world import REVIEW_BOTTLENECK_TEAM
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from tests.conftest import ANCHOR

FLOW_MODELS = "+path:models/marts/flow +path:models/marts/core"
DAY_0 = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, tzinfo=UTC)  # the sample ends here
DAY_1 = DAY_0 + timedelta(days=1)


@dataclass
class FlowWarehouse:
    path: Path
    day_0: dict[str, str]  # issue key -> its state in int_work_items_measured after the day-0 build
    changed: dict[str, str]  # what happened on day 1: issue key -> story


def _build(tmp: Path, now: datetime) -> None:
    """`dbt build` of the flow marts and everything they read (models and data tests), clock at `now`."""
    result = dbtRunner().invoke([
        # cautious: the tests of the marts left out (e.g. delivery's relationships to the teams) stay out
        "build", "--select", *FLOW_MODELS.split(), "--indirect-selection", "cautious",
        "--exclude-resource-type", "unit_test",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROJECT_ROOT), "--target", "duckdb",
        "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), "--quiet",
        "--vars", json.dumps({"flowmart_now": f"{now:%Y-%m-%d %H:%M:%S}"}),
    ])
    assert result.success, result.exception or [(r.node.name, r.message) for r in result.result if r.status != "pass"]


def _query(path: Path, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(path))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _states(path: Path) -> dict[str, str]:
    return dict(_query(path, """
        select issue_key, case when is_canceled then 'canceled' when is_completed then 'completed'
            when is_in_progress then 'in progress' else 'other' end
        from intermediate.int_work_items_measured
    """))


def _sample_issues(sample: Path) -> list[dict]:
    with (sample / "jira" / "issues.jsonl").open() as f:
        return [json.loads(line) for line in f]


def _one_day_of_work(store, sample: Path, load: Callable[[], object]) -> dict[str, str]:
    """Day 1 in the tracker: items finish, one is reopened, one starts, one is canceled, one is deleted.
    `load` runs once at midday, as loads may run more often than the builds."""
    containers = ("Epic", "Initiative")
    issues = [i for i in _sample_issues(sample) if i["fields"]["issuetype"]["name"] not in containers]
    by_status: dict[str, list[dict]] = {}
    for issue in issues:
        by_status.setdefault(issue["fields"]["status"]["name"], []).append(issue)
    open_items = [i for status in ("In Progress", "In Review", "Ready for QA", "Ready for Release")
                  for i in by_status.get(status, [])]
    at = DAY_0 + timedelta(hours=10)
    changed = {}
    assert len(open_items) >= 4, "the small sample has too few open items"
    for issue in open_items[:2]:
        store.transition(issue["key"], "Done", at=at)
        changed[issue["key"]] = "finished"
    reopened = by_status["Done"][-1]
    store.transition(reopened["key"], "In Progress", at=at + timedelta(hours=1))
    changed[reopened["key"]] = "reopened"
    load()
    started = (by_status.get("To Do") or by_status["Backlog"])[0]
    store.transition(started["key"], "In Progress", at=at + timedelta(hours=2))
    changed[started["key"]] = "started"
    canceled = open_items[2]
    store.transition(canceled["key"], "Done", at=at + timedelta(hours=3), resolution="Won't Do")
    changed[canceled["key"]] = "canceled"
    deleted = open_items[3]
    store.delete(deleted["key"])
    changed[deleted["key"]] = "deleted"
    return changed


@pytest.fixture(scope="module")
def flow_warehouse(small_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> FlowWarehouse:
    """Day 0: load the sample, build the flow marts. Day 1: a day of work, loads, and the next build."""
    tmp = tmp_path_factory.mktemp("flow")
    path = tmp / "warehouse.duckdb"
    config = load_org_config(small_sample / "org.yml")
    with pytest.MonkeyPatch.context() as mp, SampleApiServer(small_sample) as server:
        mp.setenv("FLOWMART_DUCKDB_PATH", str(path))
        mp.setenv("FLOWMART_PIPELINES_DIR", str(tmp / "pipelines"))
        mp.setenv("FLOWMART_TARGET", "duckdb")
        mp.setenv("SOURCES__JIRA__BASE_URL", server.url)
        mp.setenv("SOURCES__JIRA__EMAIL", "tester@acme.example")
        mp.setenv("SOURCES__JIRA__API_TOKEN", "token")
        org.load(config, small_sample)
        jira.load(config, small_sample)
        _build(tmp, DAY_0)
        day_0 = _states(path)
        changed = _one_day_of_work(server.apis["jira"], small_sample, lambda: jira.load(config, small_sample))
        jira.load(config, small_sample)
        _build(tmp, DAY_1)
    return FlowWarehouse(path, day_0, changed)


def test_the_review_bottleneck_team_has_the_largest_waiting_share_in_review(flow_warehouse):
    shares = dict(_query(flow_warehouse.path, """
        select waits.team, sum(waits.wait_days) / max(totals.flow_days)
        from marts.flow_waiting_time_by_status as waits
        inner join (
            select team, sum(flow_time_days) as flow_days from marts.completed_work_items group by team
        ) as totals on waits.team = totals.team
        where waits.grain = 'quarter' and waits.status_name = 'In Review'
        group by waits.team
    """))
    assert len(shares) == 8
    assert max(shares, key=shares.get) == REVIEW_BOTTLENECK_TEAM
    others = [share for team, share in shares.items() if team != REVIEW_BOTTLENECK_TEAM]
    assert shares[REVIEW_BOTTLENECK_TEAM] > 2 * max(others)
    # and "In Review" is where that team's work waits longest
    top = _query(flow_warehouse.path, f"""
        select status_name from marts.flow_waiting_time_by_status
        where grain = 'quarter' and team = '{REVIEW_BOTTLENECK_TEAM}'
        group by status_name order by sum(wait_days) desc limit 1
    """)
    assert top == [("In Review",)]


def test_the_day_of_work_shows_in_the_marts_after_the_next_build(flow_warehouse):
    path, changed = flow_warehouse.path, flow_warehouse.changed
    keys = ", ".join(f"'{k}'" for k in changed)

    def keys_in(mart: str) -> set[str]:
        return {k for (k,) in _query(path, f"select issue_key from marts.{mart} where issue_key in ({keys})")}

    completed, in_progress = keys_in("completed_work_items"), keys_in("aging_work_in_progress")
    states = _states(path)
    assert all(flow_warehouse.day_0[key] in ("in progress", "completed", "other") for key in changed)
    for key, story in changed.items():
        if story == "finished":
            assert key in completed and flow_warehouse.day_0[key] == "in progress"
        elif story in ("reopened", "started"):
            assert key in in_progress and key not in completed
        elif story == "canceled":
            assert states[key] == "canceled" and key not in completed
        elif story == "deleted":
            assert key not in states and key in flow_warehouse.day_0
    # the clock moved a day: the snapshot has the new day of every item still in progress
    [(last_day,)] = _query(path, "select max(snapshot_date) from intermediate.int_daily_wip_snapshotted")
    assert last_day == DAY_0.date()


def test_every_mart_counts_completions_by_one_definition(flow_warehouse):
    """Velocity per team and week, per value stream and month, the weekly throughput and the completed items
    all count the same items; items done without a start count in velocity and nowhere in flow time."""
    path = flow_warehouse.path
    [(items, without_start, flow_times)] = _query(path, """
        select count(*), count(*) filter (where not is_started), count(flow_time_days)
        from marts.completed_work_items
    """)
    assert without_start > 0 and flow_times == items - without_start
    for sql in ("select sum(items_completed) from marts.flow_metrics_by_team where grain = 'week'",
                "select sum(items_completed) from marts.flow_metrics_by_value_stream where grain = 'month'",
                "select sum(items_completed) from marts.team_weekly_throughput"):
        assert _query(path, sql) == [(items,)], sql
    [(counted_apart,)] = _query(path, "select sum(items_completed_without_start) from marts.flow_metrics_by_team "
                                      "where grain = 'quarter'")
    assert counted_apart == without_start


def test_the_aging_mart_and_the_metric_marts_use_days(flow_warehouse):
    """The same unit everywhere: the aging mart's team p85 over the last 3 months equals the p85 of the
    completed items' flow_time_days over the same window."""
    path = flow_warehouse.path
    rows = _query(path, f"""
        select aging.team, min(aging.team_flow_time_p85_days), min(recent.p85)
        from marts.aging_work_in_progress as aging
        inner join (
            select team, quantile_cont(flow_time_days, 0.85) as p85 from marts.completed_work_items
            where completed_at >= timestamp '{DAY_1:%Y-%m-%d %H:%M:%S}' - interval 3 month
            group by team
        ) as recent on aging.team = recent.team
        group by aging.team
    """)
    assert rows and all(abs(aging - recent) < 1e-9 for _, aging, recent in rows), rows


def test_no_name_or_email_of_the_sample_people_reaches_the_flow_tables(flow_warehouse, small_sample):
    people = set()
    for issue in _sample_issues(small_sample):
        for key in ("assignee", "reporter", "creator"):
            person = issue["fields"].get(key)
            if person:
                people.update([person["displayName"], person["emailAddress"]])
    conn = duckdb.connect(str(flow_warehouse.path))
    try:
        tables = conn.execute("select table_schema, table_name from information_schema.tables "
                              "where table_schema in ('intermediate', 'marts')").fetchall()
        values = "\n".join(str(v) for schema, table in tables
                           for row in conn.execute(f'select * from "{schema}"."{table}"').fetchall()
                           for v in row if isinstance(v, str))
    finally:
        conn.close()
    assert people and values
    assert not [p for p in people if p in values]
