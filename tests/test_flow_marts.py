"""The flow marts built by dbt on a real DuckDB warehouse, loaded over HTTP from the small sample
organisation: the planted review bottleneck shows up, and a daily incremental run (one day of work in
the tracker, then an incremental load) gives exactly what a full refresh gives."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from pipelines import jira, org
from pipelines.orgconfig import load_org_config
from pipelines.sample.daily_loads import stamp_as_daily_loads
from pipelines.sample.server import SampleApiServer
from pipelines.sample.world import REVIEW_BOTTLENECK_TEAM
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from tests.conftest import ANCHOR

FLOW_MODELS = "+path:models/intermediate/flow +path:models/marts/flow"
FLOW_SCHEMAS = ("intermediate", "marts")
DAY_0 = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, tzinfo=UTC)  # the sample ends here
DAY_1 = DAY_0 + timedelta(days=1)


@dataclass
class FlowWarehouse:
    path: Path
    after_full_build: dict[str, list[tuple]]
    after_incremental: dict[str, list[tuple]]
    after_full_refresh: dict[str, list[tuple]]
    changed: dict[str, str]  # what happened on day 1: issue key -> story
    views_on_day_1: dict[str, str]  # staging view -> dbt's message for it in the incremental run
    incremental_sql: dict[str, str]  # Jira-reading model -> its SQL as the incremental run compiled it
    superseded_read_through: datetime  # the oldest of the superseded states' readers' newest update after day 1
    superseded_after_next_run: list[datetime]  # what the record keeps after one more run (no lookback)


_PARSED: dict = {}  # the dbt manifest, parsed once per test session


def _dbt_args(tmp: Path) -> list[str]:
    return ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROJECT_ROOT), "--target", "duckdb",
            "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), "--quiet"]


def _dbt(tmp: Path, now: datetime, *args: str, lookback_days: int | None = None) -> dict[str, str]:
    """`dbt run` of the flow models with the reporting clock at `now`, in-process on a manifest parsed
    once (a change of --vars would otherwise re-parse the whole project on every run). Returns dbt's
    message for each view it ran."""
    common = _dbt_args(tmp)
    if "manifest" not in _PARSED:
        parsed = dbtRunner().invoke(["parse", *common])
        assert parsed.success, parsed.exception
        _PARSED["manifest"] = parsed.result
    result = dbtRunner(manifest=_PARSED["manifest"]).invoke([
        "run", "--select", *FLOW_MODELS.split(), *common,
        "--vars", json.dumps({"flowmart_now": f"{now:%Y-%m-%d %H:%M:%S}"}
                             | ({} if lookback_days is None else {"flow_lookback_days": lookback_days})), *args,
    ])
    assert result.success, result.exception or result.result
    return {r.node.name: r.message for r in result.result
            if r.node.resource_type == "model" and r.node.config.materialized == "view"}


# a record of the states incremental runs replaced (not a result: a full refresh starts it empty)
SUPERSEDED = "int_work_items_superseded"
# the models that read it, with the stored column of their watermark
SUPERSEDED_READERS = {"intermediate.int_flow_waits_daily": "completions_updated_through",
                      "intermediate.int_flow_metrics_aggregated": "last_item_updated_at",
                      "marts.flow_waiting_time_by_status": "last_item_updated_at",
                      "marts.completed_work_items": "last_updated_at"}


def _flow_model_names() -> set[str]:
    folders = [DBT_PROJECT_DIR / "models" / d for d in ("intermediate/core", "intermediate/flow", "marts/flow")]
    return {p.stem for folder in folders for p in folder.glob("*.sql")}


def _exact_part(row: tuple) -> str:
    """Sort key: the row without its floats, which may differ in their last bits (see _same_rows)."""
    return repr([v for v in row if not isinstance(v, float)])


def _same_rows(left: list[tuple], right: list[tuple]) -> bool:
    """Equal row by row; floating-point values to 1e-9 (relative): a sum depends on the order of
    addition, which parallel aggregation does not fix."""
    if len(left) != len(right):
        return False
    for a, b in zip(left, right, strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


def _flow_tables(path: Path) -> dict[str, list[tuple]]:
    """Every row of every flow model, sorted, keyed by model name."""
    conn = duckdb.connect(str(path))
    try:
        tables = {}
        for schema in FLOW_SCHEMAS:
            for (name,) in conn.execute(
                "select table_name from information_schema.tables where table_schema = ?", [schema]
            ).fetchall():
                if name in _flow_model_names():
                    rows = conn.execute(f'select * from "{schema}"."{name}"').fetchall()
                    tables[name] = sorted(rows, key=_exact_part)
        return tables
    finally:
        conn.close()


def _assert_same_as_full_refresh(incremental: dict[str, list[tuple]], full: dict[str, list[tuple]]) -> None:
    """Every flow table of an incremental run equals the full refresh's, but the record of superseded states
    (a log, which a full refresh starts empty)."""
    for table in full.keys() - {SUPERSEDED}:
        assert _same_rows(incremental[table], full[table]), f"{table}: incremental differs from full refresh"


def _sample_issues(sample: Path) -> list[dict]:
    with (sample / "jira" / "issues.jsonl").open() as f:
        return [json.loads(line) for line in f]


def _one_day_of_work(store, sample: Path, load: Callable[[], object]) -> dict[str, str]:
    """Day 1 in the tracker: items finish, one is reopened, one starts, one is canceled, one is deleted.
    `load` runs once at midday, as loads may run more often than the dbt runs: the items that finished in
    the morning are not loaded again by the evening load (its 5-minute overlap starts after them), so the
    changed issues of the next dbt run come from two loads."""
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


@contextlib.contextmanager
def _day_0_built(small_sample: Path, tmp: Path) -> Iterator[tuple[Path, Callable[[], object], object]]:
    """Day 0: load the sample and build the flow models, in a warehouse under `tmp`, with the history stamped
    as daily loads would have stamped it. Yields the warehouse's path, a Jira load, and the sample's Jira API
    (the tracker), while the environment points at them."""
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
        _dbt(tmp, DAY_0)
        yield path, lambda: jira.load(config, small_sample), server.apis["jira"]


@pytest.fixture(scope="module")
def flow_warehouse(small_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowWarehouse]:
    """Day 0: load the sample, build the flow models. Day 1: a day of work, two incremental loads and an
    incremental dbt run; then a full refresh of the same data at the same clock."""
    tmp = tmp_path_factory.mktemp("flow")
    with _day_0_built(small_sample, tmp) as (path, load_jira, tracker):
        after_full_build = _flow_tables(path)
        # the history as daily loads would have stamped it, not all in the load a minute ago
        stamp_as_daily_loads(path)

        changed = _one_day_of_work(tracker, small_sample, load_jira)
        load_jira()
        views = _dbt(tmp, DAY_1)
        after_incremental = _flow_tables(path)
        compiled = tmp / "target" / "compiled" / "flowmart" / "models" / "intermediate"
        incremental_sql = {p.stem: p.read_text() for p in (compiled / "core" / "int_statuses_mapped.sql",
                                                           compiled / "core" / "int_work_items_owned.sql",
                                                           compiled / "flow" / "int_status_periods_classified.sql")}
        # one more run, with no lookback so that its readers' watermarks are their newest updates
        [(read_through,)] = _query(path, f"""select least({", ".join(
            f"(select max({column}) from {table})" for table, column in SUPERSEDED_READERS.items())})""")
        _dbt(tmp, DAY_1, lookback_days=0)
        kept = sorted(at for (at,) in _query(path, f"select superseded_at from intermediate.{SUPERSEDED}"))
        _dbt(tmp, DAY_1, "--full-refresh")
        after_full_refresh = _flow_tables(path)
    yield FlowWarehouse(path, after_full_build, after_incremental, after_full_refresh, changed, views,
                        incremental_sql, read_through, kept)


def test_a_warehouse_built_before_the_record_of_superseded_states_runs_incrementally_too(
        small_sample: Path, tmp_path_factory: pytest.TempPathFactory):
    """A warehouse built by a version without int_work_items_superseded, then a plain incremental run (no
    full refresh): the record's first run already records what the run supersedes, so the deleted and the
    reopened items leave the tables as in a full refresh."""
    tmp = tmp_path_factory.mktemp("flow-upgrade")
    with _day_0_built(small_sample, tmp) as (path, load_jira, tracker):
        stamp_as_daily_loads(path)
        _query(path, f"drop table intermediate.{SUPERSEDED}")
        changed = _one_day_of_work(tracker, small_sample, load_jira)
        load_jira()
        _dbt(tmp, DAY_1)
        incremental = _flow_tables(path)
        _dbt(tmp, DAY_1, "--full-refresh")
        full = _flow_tables(path)
    assert len(incremental[SUPERSEDED]) == len(changed)
    _assert_same_as_full_refresh(incremental, full)


def _query(path: Path, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(path))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_the_review_bottleneck_team_has_the_largest_waiting_share_in_review(flow_warehouse):
    shares = dict(_query(flow_warehouse.path, """
        select waits.team, sum(waits.wait_hours) / max(totals.flow_hours)
        from marts.flow_waiting_time_by_status as waits
        inner join (
            select team, sum(flow_time_hours) as flow_hours from marts.completed_work_items group by team
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
        group by status_name order by sum(wait_hours) desc limit 1
    """)
    assert top == [("In Review",)]


def test_an_incremental_run_after_a_day_of_work_equals_a_full_refresh(flow_warehouse):
    incremental, full = flow_warehouse.after_incremental, flow_warehouse.after_full_refresh
    assert set(incremental) == set(full) == _flow_model_names()  # every flow model is compared
    _assert_same_as_full_refresh(incremental, full)


def test_the_incremental_run_records_the_states_it_superseded(flow_warehouse, small_sample):
    """Each item the day of work changed or deleted, once, with the state the incremental run replaced: the
    reopened item as completed (the daily waits and the waiting-time mart rewrite the day it left), the
    others open; the deleted item as removed. An item loaded twice that day (midday and evening) is still one
    record. A full build starts the record empty."""
    ids = {issue["key"]: issue["id"] for issue in _sample_issues(small_sample)}
    records = flow_warehouse.after_incremental[SUPERSEDED]
    by_id = {row[0]: row for row in records}
    assert len(records) == len(by_id) == len(flow_warehouse.changed)
    assert set(by_id) == {ids[key] for key in flow_warehouse.changed}
    for key, story in flow_warehouse.changed.items():
        issue_id, _, _, _, is_completed, _, _, completed_at, *_, is_removed, _, superseded_at = by_id[ids[key]]
        assert is_completed is (story == "reopened"), (key, story)
        assert is_removed is (story == "deleted"), (key, story)
        assert (completed_at is not None) is (story == "reopened"), (key, story)
        assert superseded_at is not None
    assert flow_warehouse.after_full_build[SUPERSEDED] == flow_warehouse.after_full_refresh[SUPERSEDED] == []


def test_a_run_deletes_the_superseded_states_every_reader_has_read(flow_warehouse):
    """The record keeps a state until every model that reads it has read it for good: the next run deletes
    the states superseded at or before the oldest of its readers' watermarks (here, with no lookback, their
    newest update), and keeps the later ones."""
    superseded = sorted(row[-1] for row in flow_warehouse.after_incremental[SUPERSEDED])
    bound = flow_warehouse.superseded_read_through
    assert flow_warehouse.superseded_after_next_run == [at for at in superseded if at > bound]
    assert 0 < len(flow_warehouse.superseded_after_next_run) < len(superseded)  # the day's states straddle it


def test_the_incremental_run_reads_the_latest_loads_only(flow_warehouse):
    """The models that read Jira read the rows of the issues updated since their last run from the loads
    that wrote those issues: the status models the changelog, the owned items the labels and components
    (and each the issues themselves). The bound (the oldest of those loads) is a constant in their SQL, and
    it leaves out the older loads. The results equal a full refresh's (test above): no status change,
    label or component of a changed issue was lost."""
    # the bounded reads of each model: a prefix per filtered table ("" for a CTE of the issues, labels or
    # components, which name the column alone)
    reads = {"int_statuses_mapped": ["", "changelog_items."], "int_status_periods_classified": ["", "changelog_items."],
             "int_work_items_owned": ["", "", ""]}
    assert set(flow_warehouse.incremental_sql) == set(reads)
    for model, sql in flow_warehouse.incremental_sql.items():
        bounds = re.findall(r"(\w+\.)?loaded_at >= cast\('([^']+)'", sql)
        assert Counter(reads[model]) <= Counter(prefix for prefix, _ in bounds), (model, bounds)
        since = bounds[0][1]
        assert {value for _, value in bounds} == {since}, (model, bounds)
        for table in ("changelog_items", "issue_labels"):
            older, newer = _query(flow_warehouse.path, f"""
                select count(*) filter (where loaded_at < '{since}'), count(*) filter (where loaded_at >= '{since}')
                from raw_jira.{table}""")[0]
            assert older > 10 * newer > 0, (model, table, older, newer)


def test_unchanged_views_are_left_as_they_are_and_changed_ones_replaced(flow_warehouse, tmp_path, monkeypatch):
    """The daily run does not recreate a staging view whose SQL is the one it was built from (the
    fingerprint in its comment); a view built from other SQL is replaced."""
    views = flow_warehouse.views_on_day_1
    assert "stg_jira__changelog_items" in views and set(views.values()) == {"unchanged"}, views
    path = flow_warehouse.path
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(path))
    _query(path, "create or replace view staging.stg_jira__statuses as select 1 as not_the_model;"
                 "comment on view staging.stg_jira__statuses is 'flowmart view 0'")
    result = dbtRunner(manifest=_PARSED["manifest"]).invoke(
        ["run", "--select", "stg_jira__statuses", *_dbt_args(tmp_path)])
    messages = [r.message for r in result.result if r.node.name == "stg_jira__statuses"]
    assert result.success and messages and messages != ["unchanged"], result.result
    assert _query(path, "select count(*) from staging.stg_jira__statuses where status_id is not null")[0][0] > 0


def test_daily_runs_keep_the_marts_descriptions(flow_warehouse, tmp_path, monkeypatch):
    """A daily run does not write again the descriptions (comments) of an incremental mart that carries
    them, and writes them on one that lost them: the BI tool always finds them."""
    path = flow_warehouse.path
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(path))
    monkeypatch.setenv("FLOWMART_TEST_SCOPE", "changed")
    _query(path, "comment on table marts.completed_work_items is NULL;"
                 "comment on column marts.completed_work_items.issue_id is NULL")
    result = dbtRunner(manifest=_PARSED["manifest"]).invoke(
        ["run", "--select", "completed_work_items", "flow_metrics_by_team", *_dbt_args(tmp_path)])
    assert result.success, result.result
    tables = dict(_query(path, "select table_name, comment from duckdb_tables() where schema_name = 'marts' "
                               "and table_name in ('completed_work_items', 'flow_metrics_by_team')"))
    columns = dict(_query(path, "select table_name, comment from duckdb_columns() where schema_name = 'marts' "
                                "and column_name = 'team' and table_name in ('completed_work_items', "
                                "'flow_metrics_by_team')"))
    issue_id = _query(path, "select comment from duckdb_columns() where schema_name = 'marts' "
                            "and table_name = 'completed_work_items' and column_name = 'issue_id'")[0][0]
    assert all(tables.values()) and len(tables) == 2 and all(columns.values()) and len(columns) == 2
    assert issue_id, "the column descriptions are written again with the table's"


def test_the_day_of_work_shows_in_the_marts_after_the_incremental_run(flow_warehouse):
    path, changed = flow_warehouse.path, flow_warehouse.changed
    keys = ", ".join(f"'{k}'" for k in changed)
    def keys_in(mart: str) -> set[str]:
        return {k for (k,) in _query(path, f"select issue_key from marts.{mart} where issue_key in ({keys})")}

    completed, in_progress = keys_in("completed_work_items"), keys_in("aging_work_in_progress")
    states = dict(_query(path, f"""
        select issue_key, case when is_canceled then 'canceled' when is_completed then 'completed'
            when is_in_progress then 'in progress' else 'other' end
        from intermediate.int_work_items_measured where issue_key in ({keys})
    """))
    for key, story in changed.items():
        if story == "finished":
            assert key in completed
        elif story in ("reopened", "started"):
            assert key in in_progress and key not in completed
        elif story == "canceled":
            assert states[key] == "canceled" and key not in completed
        elif story == "deleted":
            assert key not in states
    # the incremental run changed the tables (the comparison above is not between two no-ops) and, the
    # clock having moved a day, snapshotted the new day of every item still in progress
    before = flow_warehouse.after_full_build["int_work_items_measured"]
    assert before != flow_warehouse.after_incremental["int_work_items_measured"]
    day_0, day_before = DAY_0.date(), (DAY_0 - timedelta(days=1)).date()
    assert max(row[0] for row in flow_warehouse.after_full_build["int_daily_wip_snapshotted"]) == day_before
    assert max(row[0] for row in flow_warehouse.after_incremental["int_daily_wip_snapshotted"]) == day_0


def test_no_name_or_email_of_the_sample_people_reaches_the_flow_tables(flow_warehouse, small_sample):
    people = set()
    for issue in _sample_issues(small_sample):
        for key in ("assignee", "reporter", "creator"):
            person = issue["fields"].get(key)
            if person:
                people.update([person["displayName"], person["emailAddress"]])
    tables = flow_warehouse.after_incremental.values()
    values = "\n".join(v for rows in tables for row in rows for v in row if isinstance(v, str))
    assert people and values
    assert not [p for p in people if p in values]


def _unique_test_status(tmp: Path, model: str = "int_status_periods_classified") -> str:
    """Run the data tests of `model`; the status of its uniqueness test."""
    result = dbtRunner(manifest=_PARSED["manifest"]).invoke(
        ["test", "--select", model, "--exclude-resource-type", "unit_test", *_dbt_args(tmp)])
    statuses = {r.node.name: str(r.status) for r in result.result}
    return next(status for name, status in statuses.items() if name.startswith("unique") and model in name)


def test_daily_runs_test_the_changed_rows_and_a_full_test_run_every_row(flow_warehouse, tmp_path, monkeypatch):
    """With FLOWMART_TEST_SCOPE=changed, the data tests of a big model read the rows of items updated
    within the test window: a duplicate planted on an item updated long ago is left to the weekly run
    (scope all), one on a recently updated item fails the daily run too."""
    path = flow_warehouse.path
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(path))
    periods = "intermediate.int_status_periods_classified"
    old_item, new_item = _query(path, f"""
        select (select issue_id from {periods} order by item_updated_at limit 1),
               (select issue_id from {periods} order by item_updated_at desc limit 1)""")[0]
    try:
        _query(path, f"insert into {periods} select * from {periods} where issue_id = '{old_item}' "
                     "and period_index = 0")
        monkeypatch.setenv("FLOWMART_TEST_SCOPE", "changed")
        assert _unique_test_status(tmp_path) == "pass"
        monkeypatch.setenv("FLOWMART_TEST_SCOPE", "all")
        assert _unique_test_status(tmp_path) == "fail"
        _query(path, f"insert into {periods} select * from {periods} where issue_id = '{new_item}' "
                     "and period_index = 0")
        monkeypatch.setenv("FLOWMART_TEST_SCOPE", "changed")
        assert _unique_test_status(tmp_path) == "fail"
    finally:  # put the table back as the build left it
        _query(path, f"""
            create or replace temp table kept as select distinct * from {periods};
            delete from {periods};
            insert into {periods} select * from kept""")


def test_daily_runs_test_the_changelog_items_of_the_latest_loads(flow_warehouse, tmp_path, monkeypatch):
    """The raw changelog is tested on the items written by the loads of the test window (the loader stamps
    each item with the start of its load): a duplicate among items loaded a month ago is left to the
    weekly run, one among the items of the latest load fails the daily run too."""
    path = flow_warehouse.path
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(path))
    changelog = "raw_jira.changelog_items"
    newest = _query(path, f"select max(loaded_at) from {changelog}")[0][0]
    old_item, new_item = _query(path, f"""
        select (select min(issue_id) from {changelog} where loaded_at < '{newest}'),
               (select min(issue_id) from {changelog} where loaded_at = '{newest}')""")[0]
    planted = f"history_id = 'planted' and issue_id in ('{old_item}', '{new_item}')"
    try:
        _query(path, f"""
            update {changelog} set loaded_at = loaded_at - interval 30 day where issue_id = '{old_item}';
            insert into {changelog} select * replace ('planted' as history_id) from {changelog}
            where issue_id = '{old_item}' and item_index = 0;
            insert into {changelog} select * replace ('planted' as history_id) from {changelog}
            where issue_id = '{old_item}' and item_index = 0""")
        monkeypatch.setenv("FLOWMART_TEST_SCOPE", "changed")
        assert _unique_test_status(tmp_path, "stg_jira__changelog_items") == "pass"
        monkeypatch.setenv("FLOWMART_TEST_SCOPE", "all")
        assert _unique_test_status(tmp_path, "stg_jira__changelog_items") == "fail"
        _query(path, f"""
            insert into {changelog} select * replace ('planted' as history_id) from {changelog}
            where issue_id = '{new_item}' and item_index = 0 and history_id <> 'planted' limit 1;
            insert into {changelog} select * replace ('planted' as history_id) from {changelog}
            where issue_id = '{new_item}' and item_index = 0 and history_id <> 'planted' limit 1""")
        monkeypatch.setenv("FLOWMART_TEST_SCOPE", "changed")
        assert _unique_test_status(tmp_path, "stg_jira__changelog_items") == "fail"
    finally:  # put the table back as the load left it
        _query(path, f"""
            delete from {changelog} where {planted};
            update {changelog} set loaded_at = loaded_at + interval 30 day where issue_id = '{old_item}'""")
