"""The outcome alignment marts built by dbt over the sample organisation (org config and tracker loaded over
HTTP from its local API), on DuckDB and on PostgreSQL: the planted feature-factory story shows, every completed
epic counts once, cross-team dependencies join different teams, the run summary reads the figures from the
marts, and no person reaches an outcome mart."""

from __future__ import annotations

import pytest

from orchestration import summary
from orchestration.warehouse import Warehouse
from pipelines.sample.world import FEATURE_FACTORY_STREAM, build_world
from tests.conftest import ANCHOR, build_sample_marts, query_marts

OUTCOME_MARTS = ["epic_outcomes", "okr_objectives", "okr_key_results", "outcome_metrics_by_team",
                 "outcome_metrics_by_value_stream", "investment_distribution", "cross_team_dependencies"]
SCALE = 0.25  # 8 epics per team: enough for a ratio per value stream


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sample at scale 0.25 with the outcome marts built; the environment that points at it."""
    return build_sample_marts(request, tmp_path_factory, "outcomes", ["+path:models/marts/outcomes"], scale=SCALE)


_query = query_marts


def test_the_value_stream_whose_epics_lack_anticipated_outcomes_has_the_highest_ffr(outcomes):
    rows = _query(outcomes, """
        select value_stream, sum(epics_without_anticipated_outcome), sum(epics_in_scope),
            sum(epics_with_loop_closed), sum(epics_due_for_outcome)
        from marts.outcome_metrics_by_value_stream
        where grain = 'quarter'
        group by value_stream""")
    ffr = {stream: 100.0 * without / in_scope for stream, without, in_scope, _, _ in rows}
    closing = {stream: 100.0 * closed / due for stream, _, _, closed, due in rows}
    print("FFR over the quarters' epics in scope, %:", ffr, "closing the loop, %:", closing)
    assert sorted(ffr) == ["Growth", "Payments", "Platform"]
    assert max(ffr, key=ffr.get) == FEATURE_FACTORY_STREAM, ffr
    others = [v for stream, v in ffr.items() if stream != FEATURE_FACTORY_STREAM]
    assert ffr[FEATURE_FACTORY_STREAM] > 2 * max(others), ffr  # a story, not noise
    # the same stream also closes the loop least often (its epics rarely record results)
    assert min(closing, key=closing.get) == FEATURE_FACTORY_STREAM, closing
    # quarter after quarter, not only in total: its median quarterly FFR is the highest too
    quarterly = _query(outcomes, """
        select value_stream, feature_factory_ratio_pct from marts.outcome_metrics_by_value_stream
        where grain = 'quarter' and feature_factory_ratio_pct is not null""")
    medians = {}
    for stream in ffr:
        values = sorted(v for s, v in quarterly if s == stream)
        medians[stream] = values[len(values) // 2]
    assert max(medians, key=medians.get) == FEATURE_FACTORY_STREAM, medians


def test_every_completed_epic_counts_once_in_its_month_and_quarter(outcomes):
    epics = _query(outcomes, """
        select value_stream, count(*) from marts.epic_outcomes
        where is_completed and team is not null group by value_stream""")
    assert epics and sum(n for _, n in epics) > 20, epics
    for grain in ("month", "quarter"):
        counted = _query(outcomes, f"""
            select value_stream, sum(epics_completed) from marts.outcome_metrics_by_value_stream
            where grain = '{grain}' group by value_stream having sum(epics_completed) > 0""")
        assert sorted((s, int(n)) for s, n in counted) == sorted(epics), grain
    # and the teams add up to their value stream
    teams = _query(outcomes, """
        select value_stream, grain, period_start, sum(epics_in_scope), sum(epics_completed)
        from marts.outcome_metrics_by_team group by 1, 2, 3""")
    streams = {(s, g, p): (a, b) for s, g, p, a, b in _query(outcomes, """
        select value_stream, grain, period_start, epics_in_scope, epics_completed
        from marts.outcome_metrics_by_value_stream""")}
    assert teams and all(streams[(s, g, p)] == (a, b) for s, g, p, a, b in teams)


def test_okrs_cascade_and_unknown_key_results_do_not_count_as_linked(outcomes):
    cascade = _query(outcomes, """
        select objective_level, cascade_depth, parent_objective_id is not null
        from marts.okr_objectives where parent_key_result_id is not null""")
    assert cascade == [("team", 1, True)], cascade  # the sample's paved-road objective serves a company KR
    unknown = _query(outcomes, """
        select count(*), sum(case when is_key_result_in_catalogue then 1 else 0 end)
        from marts.epic_outcomes where key_result_id like 'KR-OLD-%'""")
    assert unknown[0][0] > 0 and unknown[0][1] == 0, unknown
    linked = _query(outcomes, "select sum(epics_linked) from marts.okr_key_results")[0][0]
    in_catalogue = _query(outcomes, "select count(*) from marts.epic_outcomes where is_key_result_in_catalogue")
    assert linked == in_catalogue[0][0] > 0


def test_investment_shares_sum_to_100_and_team_costs_are_allocated(outcomes):
    totals = _query(outcomes, """
        select scope_kind, scope_name, grain, period_start, dimension, sum(active_time_share_pct)
        from marts.investment_distribution where active_time_share_pct is not null
        group by 1, 2, 3, 4, 5""")
    assert totals and all(abs(share - 100.0) < 1e-6 for *_, share in totals)
    # every sample team has a monthly cost: a complete month's cost is allocated in full
    month = _query(outcomes, """
        select sum(allocated_cost) from marts.investment_distribution
        where scope_kind = 'organisation' and dimension = 'value_stream' and grain = 'month'
            and period_start = cast('2026-06-01' as date)""")[0][0]
    world = build_world(scale=SCALE, anchor=ANCHOR)
    assert month == pytest.approx(sum(t.monthly_cost for t in world.teams))


def test_cross_team_dependencies_join_different_teams(outcomes):
    rows = _query(outcomes, """
        select blocking_team, blocked_team, sum(dependencies), sum(blocked_waiting_days)
        from marts.cross_team_dependencies where grain = 'quarter' group by 1, 2""")
    assert rows and all(blocking != blocked for blocking, blocked, _, _ in rows)
    # the sample links items of different teams at random over two years: few lifetimes overlap
    assert sum(n for *_, n, _ in rows) >= 3 and all(days >= 0 for *_, days in rows)
    assert sum(days for *_, days in rows) > 1
    ranks = _query(outcomes, """
        select grain, period_start, min(blocked_time_rank) from marts.cross_team_dependencies group by 1, 2""")
    assert {rank for *_, rank in ranks} == {1}


def test_the_run_summary_shows_ffr_and_closing_the_loop_per_value_stream(outcomes):
    quarter = summary.last_complete_quarter(ANCHOR)
    assert str(quarter) == "2026-07-01"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in outcomes.items():
            mp.setenv(name, value)
        with Warehouse(outcomes["FLOWMART_TARGET"]) as wh:
            lines = summary.outcomes(wh, quarter)
    assert [line.split()[0] for line in lines] == ["Growth", "Payments", "Platform"], lines
    for line in lines:
        assert "Feature Factory Ratio " in line and "closing the loop " in line, line
    growth = float(lines[0].split("Feature Factory Ratio ")[1].split(" %")[0])
    assert growth > 50, lines


def test_no_person_reaches_the_outcome_marts(outcomes):
    pseudonyms = {r[0] for r in _query(outcomes, """
        select assignee_id from staging.stg_jira__issues where assignee_id is not null
        union select reporter_id from staging.stg_jira__issues where reporter_id is not null
        union select author_id from staging.stg_jira__changelog_items where author_id is not null
        union select member_id from raw_org.team_members""")}
    world = build_world(scale=SCALE, anchor=ANCHOR)
    names = {p.display_name for p in world.people} | {p.email for p in world.people} | {p.login for p in world.people}
    names |= {p.account_id for p in world.people}
    assert pseudonyms and names
    columns = _query(outcomes, """
        select table_name, column_name from information_schema.columns
        where table_schema = 'marts' and data_type in ('VARCHAR', 'character varying', 'text')""")
    columns = [(t, c) for t, c in columns if t in OUTCOME_MARTS]
    assert {t for t, _ in columns} == set(OUTCOME_MARTS)
    for table, column in columns:
        assert not any(word in column for word in ("assignee", "reporter", "author", "owner", "email", "member"))
        values = {r[0] for r in _query(outcomes, f'select distinct "{column}" from marts."{table}"') if r[0]}
        assert not values & pseudonyms, f"{table}.{column} holds a pseudonym"
        leaked = [v for v in values for name in names if name.lower() in v.lower()]
        assert not leaked, f"{table}.{column} names a person: {leaked[:3]}"
    # the outcome texts are in the marts, with the tracker's @mentions of people removed at load
    texts = _query(outcomes, "select count(*) from marts.epic_outcomes where anticipated_outcome like '%@user%'")
    assert texts[0][0] > 0

