"""The value stream map built by dbt over the sample organisation (org config and tracker loaded over HTTP from
its local API), on DuckDB and on PostgreSQL: the planted review bottleneck is the bottleneck of its team's map,
the QA step's % complete and accurate drops below 100 % in exactly the quarters where work that passed QA came
back, the steps follow the configured or the inferred order, the run summary reads the ladder's figures, and a
configured step that names no status of the tracker fails the build naming it."""

from __future__ import annotations

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from orchestration import summary
from orchestration.warehouse import Warehouse
from pipelines import org
from pipelines.orgconfig import parse_org_config
from pipelines.sample.generate import VALUE_STREAM_STEPS
from pipelines.sample.world import REVIEW_BOTTLENECK_TEAM
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from tests.conftest import ANCHOR, build_sample_marts, query_marts

MAP_MARTS = ["value_stream_map_steps_by_value_stream", "value_stream_map_steps_by_team",
             "value_stream_map_by_value_stream", "value_stream_map_by_team"]
SCALE = 0.25  # ~75 items a quarter per team: enough for a map per team and quarter


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def vsm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sample at scale 0.25 with the map's marts built; the environment that points at it."""
    selected = [f"+{mart}" for mart in MAP_MARTS]
    return build_sample_marts(request, tmp_path_factory, "value_stream_map", selected, scale=SCALE)


_query = query_marts


def test_the_team_with_the_planted_review_bottleneck_has_review_as_the_bottleneck_of_its_map(vsm):
    rows = _query(vsm, f"""
        select period_start, bottleneck_step, bottleneck_waiting_share_pct from marts.value_stream_map_by_team
        where team = '{REVIEW_BOTTLENECK_TEAM}' and grain = 'quarter' and bottleneck_step is not null
        order by period_start""")
    print("bottleneck per quarter:", [(str(p), step, round(share, 1)) for p, step, share in rows])
    assert len(rows) >= 6, rows
    assert {step for _, step, _ in rows} == {"In Review"}, rows
    # over the whole window too, In Review holds most of the team's waiting, far ahead of any other step
    shares = dict(_query(vsm, f"""
        select step_status, 100.0 * sum(waiting_days) / (
            select sum(waiting_days) from marts.value_stream_map_steps_by_team
            where team = '{REVIEW_BOTTLENECK_TEAM}' and grain = 'quarter')
        from marts.value_stream_map_steps_by_team
        where team = '{REVIEW_BOTTLENECK_TEAM}' and grain = 'quarter' group by step_status"""))
    print("waiting share over the window, %:", {k: round(v, 1) for k, v in shares.items()})
    assert max(shares, key=shares.get) == "In Review"
    assert shares["In Review"] > 2 * max(v for k, v in shares.items() if k != "In Review"), shares
    # no other team of the sample waits mostly in review every quarter
    others = _query(vsm, f"""
        select team, count(*) from marts.value_stream_map_by_team
        where grain = 'quarter' and bottleneck_step = 'In Review' and team <> '{REVIEW_BOTTLENECK_TEAM}'
        group by team""")
    assert all(n < len(rows) for _, n in others), others


def test_qa_is_below_100_pct_complete_and_accurate_wherever_work_that_passed_it_came_back(vsm):
    """Independently of the map's models: the quarters in which an item of the team left In QA and later
    came back to In QA or an earlier step (the sample reopens done items into In Progress) are exactly the
    quarters in which the QA step's %C&A is below 100 %."""
    steps = ", ".join(f"'{s.lower()}'" for s in VALUE_STREAM_STEPS[:4])
    sent_back = {str(r[0]) for r in _query(vsm, f"""
        select distinct cast(date_trunc('quarter', qa.ended_at) as date)
        from intermediate.int_status_periods_classified as qa
        inner join intermediate.int_work_items_measured as items on qa.issue_id = items.issue_id
        where items.team = '{REVIEW_BOTTLENECK_TEAM}' and not items.is_canceled
            and items.item_role in ('work_item', 'incident')
            and lower(qa.status_name) = 'in qa' and qa.ended_at is not null
            and exists (
                select 1 from intermediate.int_status_periods_classified as later
                where later.issue_id = qa.issue_id and later.period_index > qa.period_index + 1
                    and lower(later.status_name) in ({steps}))
            and exists (
                select 1 from intermediate.int_status_periods_classified as next_period
                where next_period.issue_id = qa.issue_id and next_period.period_index = qa.period_index + 1
                    and lower(next_period.status_name) in ('ready for release', 'done'))""")}
    qa = _query(vsm, f"""
        select period_start, complete_and_accurate_pct, items_left_forward, items_complete_and_accurate
        from marts.value_stream_map_steps_by_team
        where team = '{REVIEW_BOTTLENECK_TEAM}' and grain = 'quarter' and step_status = 'In QA'
            and items_left_forward > 0
        order by period_start""")
    print("In QA %C&A per quarter:", [(str(p), round(pct, 1), n) for p, pct, n, _ in qa])
    assert sent_back, "the sample sends no work back after QA"
    below = {str(p) for p, pct, *_ in qa if pct < 100}
    assert below == sent_back, (below, sent_back)
    assert all(0 < pct <= 100 for _, pct, *_ in qa), qa


def test_steps_follow_the_configured_order_or_the_inferred_one(vsm):
    steps = _query(vsm, """
        select value_stream, step_position, step_status, order_source
        from intermediate.int_value_stream_steps_ordered order by value_stream, step_position""")
    payments = [(status, source) for stream, _, status, source in steps if stream == "Payments"]
    assert payments == [(status, "configured") for status in VALUE_STREAM_STEPS], payments
    growth = [status for stream, _, status, source in steps if stream == "Growth" and source == "inferred"]
    # the inferred order keeps the workflow: work before review, QA before release (the tie on the median
    # first-entry position of In QA and Ready for Release is broken by which the items entered first)
    assert growth.index("In Progress") < growth.index("In Review") < growth.index("Ready for QA") \
        < growth.index("In QA") < growth.index("Ready for Release"), growth


def test_every_step_has_a_row_in_every_period_and_the_totals_add_up(vsm):
    missing = _query(vsm, """
        select count(*) from marts.value_stream_map_by_value_stream as totals
        where totals.steps <> (select count(*) from intermediate.int_value_stream_steps_ordered as steps
                               where steps.value_stream = totals.value_stream)""")
    assert missing == [(0,)]
    rows = _query(vsm, """
        select totals.total_lead_time_days, sum(steps.time_in_step_p50_days),
            totals.activity_ratio_pct, totals.total_process_time_days
        from marts.value_stream_map_by_team as totals
        inner join marts.value_stream_map_steps_by_team as steps
            on totals.team = steps.team and totals.grain = steps.grain and totals.period_start = steps.period_start
        where totals.grain = 'month' and totals.total_lead_time_days is not null
        group by totals.team, totals.grain, totals.period_start, totals.total_lead_time_days,
            totals.activity_ratio_pct, totals.total_process_time_days""")
    assert len(rows) > 100
    for lead, summed, ratio, process in rows:
        assert lead == pytest.approx(summed)
        assert ratio == pytest.approx(100.0 * process / lead)


def test_the_run_summary_shows_rolled_complete_and_accurate_and_activity_ratio_per_value_stream(vsm):
    quarter = summary.last_complete_quarter(ANCHOR)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in vsm.items():
            mp.setenv(name, value)
        with Warehouse(vsm["FLOWMART_TARGET"]) as wh:
            lines = summary.value_stream_map(wh, quarter)
    print("\n".join(lines))
    assert [line.split()[0] for line in lines] == ["Growth", "Payments", "Platform"], lines
    for line in lines:
        assert "rolled %C&A " in line and "activity ratio " in line and " n/a" not in line, line
    assert "bottleneck In Review" in lines[1], lines


def test_a_configured_step_that_names_no_tracker_status_fails_the_build_naming_it(warehouse, tmp_path):
    """The org config cannot know the tracker's statuses; the warehouse can: the test
    assert_configured_steps_name_known_statuses fails, and its row says which stream names which status."""
    config = parse_org_config({"value_streams": [{"name": "Payments", "steps": ["In Progress", "In Reveiw"]}],
                               "teams": [{"name": "checkout", "value_stream": "Payments"}]})
    org.load(config)
    result = dbtRunner().invoke([
        "build", "--select", "+assert_configured_steps_name_known_statuses", "--indirect-selection", "cautious",
        "--exclude-resource-type", "unit_test",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROJECT_ROOT), "--target", "duckdb",
        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--quiet",
    ])
    failed = {r.node.name: r.failures for r in result.result if r.status == "fail"}
    assert failed == {"assert_configured_steps_name_known_statuses": 2}, failed
    conn = duckdb.connect(str(warehouse))  # dbt ran in this process: same configuration as its connection
    try:
        errors = [r[0] for r in conn.execute("""
            select validation_error from intermediate.int_value_stream_steps_ordered
            where validation_error is not null order by step_position""").fetchall()]
    finally:
        conn.close()
    assert errors[1] == "value_streams[Payments].steps names the status 'In Reveiw', which the tracker does not have"
