"""The sentiment and scorecard marts built by dbt over the sample organisation (org config, surveys, tracker and
GitHub loaded over HTTP from the local APIs), on DuckDB and on PostgreSQL: no mart holds a respondent or a row
finer than team × wave, every suppressed cell is null and none can be derived by differencing, and the planted
stories show (the sentiment-drop team drops wave over wave; the AI-adopting team's utilisation rises after its
adoption)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from pipelines import github, jira, org, survey
from pipelines.orgconfig import load_org_config
from pipelines.sample.generate import generate_sample
from pipelines.sample.server import SampleApiServer
from pipelines.sample.survey_data import WAVES
from pipelines.sample.world import AI_ADOPTION_TEAM, SENTIMENT_DROP_TEAM, build_world
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from tests.conftest import ANCHOR

SCALE = 0.25  # teams of 6-8 people: some survey cells fall below the threshold of 5, most do not
MARTS = ["+path:models/marts/sentiment", "+path:models/marts/scorecards"]
SURVEY_MARTS = ("team_sentiment", "value_stream_sentiment", "team_sentiment_beside_the_numbers")
FIGURES = ("mean_score", "favourable_pct", "yes_pct")
CELL_FIGURES = FIGURES + ("promoters_pct", "detractors_pct", "enps", "mean_score_change", "favourable_pct_change",
                          "yes_pct_change", "enps_change")


DATABASE = "sentiment"  # the PostgreSQL database of this module's warehouse


class Warehouse:
    """The built warehouse of one target, queried the same way on both."""

    def __init__(self, target: str, path: Path | None = None, postgres=None) -> None:
        self.target, self.path, self.postgres = target, path, postgres

    def query(self, sql: str) -> list[tuple]:
        if self.target == "duckdb":
            # dbt ran in this process and may keep its connection: open the file with the same configuration
            with duckdb.connect(str(self.path)) as conn:
                return conn.execute(sql).fetchall()
        conn = self.postgres.connect(DATABASE)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()


def _build(tmp: Path, target: str) -> None:
    """`dbt build` of the sentiment and scorecard marts and what they read (unit tests left out: CI runs them)."""
    result = dbtRunner().invoke([
        "build", "--select", *MARTS, "--indirect-selection", "cautious", "--exclude-resource-type", "unit_test",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROJECT_ROOT), "--target", target,
        "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), "--quiet",
    ])
    assert result.success, result.exception or [r.message for r in result.result if r.status not in ("success", "pass")]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sentiment-sample")
    generate_sample(folder, scale=SCALE, anchor=ANCHOR)
    return folder


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request, sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The sample loaded (org config, surveys, tracker, GitHub) and the marts built, on DuckDB or PostgreSQL."""
    target = request.param
    tmp = tmp_path_factory.mktemp(f"sentiment-{target}")
    config = load_org_config(sample / "org.yml")
    postgres = request.getfixturevalue("postgres") if target == "postgres" else None
    if postgres:  # its own database: other tests load other samples into the default one
        admin = postgres.connect("postgres")
        with admin.cursor() as cur:
            cur.execute(f"create database {DATABASE}")
        admin.close()
    path = tmp / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp, SampleApiServer(sample) as server:
        mp.chdir(tmp)
        for name, value in (postgres.env() | {"FLOWMART_PG_DBNAME": DATABASE} if postgres else {}).items():
            mp.setenv(name, value)
        mp.setenv("FLOWMART_DUCKDB_PATH", str(path))
        mp.setenv("FLOWMART_PIPELINES_DIR", str(tmp / "pipelines"))
        mp.setenv("FLOWMART_TARGET", target)
        mp.setenv("SOURCES__JIRA__BASE_URL", server.url)
        mp.setenv("SOURCES__JIRA__EMAIL", "tester@acme.example")
        mp.setenv("SOURCES__JIRA__API_TOKEN", "token")
        mp.setenv("SOURCES__GITHUB__BASE_URL", server.url)
        mp.setenv("SOURCES__GITHUB__ACCESS_TOKEN", "token")
        org.load(config, sample)
        survey.load(config, sample)
        jira.load(config, sample)
        github.load(config, sample)
        _build(tmp, target)
    return Warehouse(target, path, postgres)


def _mart_columns(wh: Warehouse) -> dict[str, dict[str, str]]:
    columns: dict[str, dict[str, str]] = {}
    for table, column, data_type in wh.query(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"):
        columns.setdefault(table, {})[column] = data_type.lower()
    return columns


def test_no_mart_holds_a_respondent_or_a_row_finer_than_team_and_wave(warehouse):
    respondents = {r[0] for r in warehouse.query("select distinct respondent_id from staging.stg_survey__responses")}
    assert len(respondents) > 30
    marts = _mart_columns(warehouse)
    assert set(SURVEY_MARTS) | {"team_ai_measurement", "team_dx_core_4"} <= marts.keys()
    for table, columns in marts.items():
        assert not [c for c in columns if "respondent_id" in c or c in ("person", "member_id", "author_id")], table
        for column, data_type in columns.items():
            if "char" in data_type or data_type == "text":
                values = {r[0] for r in warehouse.query(f'select distinct "{column}" from marts."{table}"')}
                assert not values & respondents, (table, column)
    # every mart with survey figures: one row per group, wave and dimension (and figure), never finer
    keys = {"team_sentiment": "team, wave, dimension", "value_stream_sentiment": "value_stream, wave, dimension",
            "team_sentiment_beside_the_numbers": "team, wave, dimension, metric"}
    for table, key in keys.items():
        rows, distinct = warehouse.query(
            f"select count(*), count(distinct ({key})) from marts.{table}" if warehouse.target == "postgres"
            else f"select count(*), count(distinct struct_pack({key})) from marts.{table}")[0]
        assert rows == distinct and rows > 0, table
    # no more team cells than the answers have team × wave × question combinations; shown ones have k respondents
    cells = warehouse.query("""
        select count(*) from (select distinct team, wave, question_id from staging.stg_survey__responses) as cells""")
    assert warehouse.query("select count(*) from marts.team_sentiment")[0][0] <= cells[0][0]
    assert warehouse.query("select min(respondents) from marts.team_sentiment where not is_suppressed")[0][0] >= 5


def test_every_suppressed_cell_is_null_and_none_can_be_derived_by_differencing(warehouse):
    threshold = int(warehouse.query(
        "select setting_value from staging.stg_org__settings where setting = 'anonymity_threshold'")[0][0])
    assert threshold == 5
    for table in ("team_sentiment", "value_stream_sentiment"):
        not_null = " or ".join(f"{c} is not null" for c in CELL_FIGURES)
        assert warehouse.query(f"select count(*) from marts.{table} where is_suppressed and ({not_null})") == [(0,)]
        assert warehouse.query(f"""
            select count(*) from marts.{table} where respondents < {threshold} and not is_suppressed""") == [(0,)]
    not_null = " or ".join(f"{c} is not null" for c in FIGURES + ("favourable_pct_change",))
    assert warehouse.query(f"""
        select count(*) from marts.team_sentiment_beside_the_numbers where is_suppressed and ({not_null})""") == [(0,)]
    suppressed = warehouse.query("select count(*) from marts.team_sentiment where is_suppressed")[0][0]
    assert suppressed > 10  # the sample's small teams do fall below the threshold
    # a change never bridges a suppressed wave (else the suppressed value = the shown one - the change)
    assert warehouse.query("""
        select count(*) from marts.team_sentiment as t
        inner join marts.team_sentiment as p
            on p.team = t.team and p.dimension = t.dimension and p.wave = t.previous_wave
        where p.is_suppressed and (t.mean_score_change is not null or t.favourable_pct_change is not null)""") == [(0,)]
    # differencing: where a value stream's figure is shown, the suppressed teams of the cell hold at least the
    # threshold together (or none), so the value stream minus the shown teams never reveals a small group
    exposed = warehouse.query(f"""
        select t.value_stream, t.wave, t.dimension, sum(t.respondents)
        from marts.team_sentiment as t
        inner join marts.value_stream_sentiment as v
            on v.value_stream = t.value_stream and v.wave = t.wave and v.dimension = t.dimension
        where t.is_suppressed and not v.is_suppressed
        group by 1, 2, 3
        having sum(t.respondents) < {threshold}""")
    assert exposed == []
    assert warehouse.query("select count(*) from marts.team_sentiment where suppression_reason = 'differencing'")[0][0]


def _waves(wh: Warehouse) -> list[str]:
    return [r[0] for r in wh.query("select distinct wave from marts.value_stream_sentiment order by 1")]


def test_the_sentiment_drop_team_drops_wave_over_wave(warehouse):
    waves = _waves(warehouse)
    assert len(waves) == WAVES
    rows = warehouse.query("""
        select team, wave, avg(mean_score), avg(favourable_pct) from marts.team_sentiment
        where mean_score is not null group by 1, 2""")
    mean = {(team, wave): (score, favourable) for team, wave, score, favourable in rows}
    early, late = waves[:-3], waves[-3:]  # the sample's drop: the last 3 waves
    team = {w: mean.get((SENTIMENT_DROP_TEAM, w)) for w in waves}
    shown_late = [team[w] for w in late if team[w]]
    assert len(shown_late) >= 2, team
    lowest_early = min(team[w][0] for w in early if team[w])
    assert all(score < lowest_early - 0.3 for score, _ in shown_late), team
    # the largest fall of every team
    drop = {}
    for name in {t for t, _ in mean}:
        before = [mean[(name, w)][0] for w in early if (name, w) in mean]
        after = [mean[(name, w)][0] for w in late if (name, w) in mean]
        if before and after:
            drop[name] = sum(before) / len(before) - sum(after) / len(after)
    assert max(drop, key=drop.get) == SENTIMENT_DROP_TEAM, drop
    # the DX Core 4 experience index follows the team's latest wave
    index = dict(warehouse.query(f"""
        select experience_wave, max(experience_index) from marts.team_dx_core_4
        where team = '{SENTIMENT_DROP_TEAM}' and experience_index is not null group by 1"""))
    assert index[late[-1]] < min(index[w] for w in early if w in index) - 20, index


def test_the_ai_adopting_teams_utilisation_rises_after_adoption(warehouse):
    midpoint = build_world(scale=SCALE, anchor=ANCHOR).midpoint.date()
    rows = warehouse.query("""
        select team, phase, adoption_month, ai_assisted_pct, pull_requests_merged,
               ai_assisted_change_lead_time_p50_hours, ai_assisted_change_fail_rate_pct
        from marts.team_ai_measurement""")
    by = {(team, phase): rest for team, phase, *rest in rows}
    adoption, before, n_before, *_ = by[(AI_ADOPTION_TEAM, "before_adoption")]
    _, after, n_after, ai_lead, _ = by[(AI_ADOPTION_TEAM, "after_adoption")]
    assert abs((adoption - midpoint).days) <= 75, (adoption, midpoint)
    assert n_before >= 15 and n_after >= 10 and after > 50 > 20 > before, by
    assert ai_lead is not None  # impact is shown next to the adoption
    for (team, phase), (month, share, _, lead, fail) in by.items():
        if team != AI_ADOPTION_TEAM:  # never adopted: one row, and no AI impact figure (null, not 0)
            assert (phase, month, share, lead, fail) == ("no_adoption", None, 0.0, None, None), team
    # the survey says the same at the level of its value stream (the team's own cells are mostly too small)
    said = warehouse.query(f"""
        select wave_start >= cast('{midpoint}' as date), avg(yes_pct) from marts.value_stream_sentiment
        where dimension = 'ai_usage' and yes_pct is not null
        and value_stream = (select value_stream from staging.stg_org__teams where team = '{AI_ADOPTION_TEAM}')
        group by 1""")
    share = dict(said)
    assert share[True] > share[False] + 20, share
    # ... and the AI mart puts that beside the team's adoption and impact
    phases = dict(warehouse.query(f"""
        select phase, value_stream_ai_tool_users_pct from marts.team_ai_measurement
        where team = '{AI_ADOPTION_TEAM}'"""))
    assert phases["after_adoption"] > phases["before_adoption"] + 20, phases


def test_sentiment_sits_beside_the_figure_it_speaks_about(warehouse):
    rows = warehouse.query("""
        select dimension, metric, count(*), count(metric_value) from marts.team_sentiment_beside_the_numbers
        group by 1, 2""")
    pairs = {(d, m): (n, valued) for d, m, n, valued in rows}
    assert {("code_review", "pickup_p50_minutes"), ("code_review", "review_p50_minutes"),
            ("ease_of_release", "deployment_days_per_week_p50"), ("deep_work", "flow_efficiency_pct")} <= pairs.keys()
    assert all(valued > 0 for _, valued in pairs.values()), pairs
    # the figure is the team mart's, for the wave's quarter
    mismatched = warehouse.query("""
        select count(*) from marts.team_sentiment_beside_the_numbers as b
        inner join marts.delivery_metrics_by_team as d
            on d.team = b.team and d.grain = 'quarter' and d.period_start = b.quarter_start
        where b.metric = 'pickup_p50_minutes' and b.metric_value is distinct from d.pickup_p50_minutes""")
    assert mismatched == [(0,)]



def test_the_run_summary_shows_each_value_streams_enps_and_lowest_dimension(warehouse, monkeypatch):
    from orchestration import summary
    from orchestration.warehouse import Warehouse as SummaryWarehouse

    env = ({"FLOWMART_DUCKDB_PATH": str(warehouse.path)} if not warehouse.postgres
           else warehouse.postgres.env() | {"FLOWMART_PG_DBNAME": DATABASE})
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with SummaryWarehouse(warehouse.target) as wh:
        wave, lines = summary.sentiment(wh)
    assert wave == _waves(warehouse)[-1]
    assert [line.split()[0] for line in lines] == ["Growth", "Payments", "Platform"]
    assert all(" eNPS " in line and " % favourable" in line for line in lines), lines
