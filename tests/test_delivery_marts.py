"""The delivery marts built by dbt on a real DuckDB warehouse: over the sample organisation (loaded over HTTP
from its local APIs) the planted stories show; over a local Git repository built in the test, deploy tags
give deployments and change lead times; a delivery-events file gives deployments, failures and incidents,
end to end."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from pipelines import delivery as delivery_loader
from pipelines import git as git_loader
from pipelines import github, jira, org
from pipelines.orgconfig import load_org_config, parse_org_config
from pipelines.sample.generate import generate_sample
from pipelines.sample.server import SampleApiServer
from pipelines.sample.world import AI_ADOPTION_TEAM, REVIEW_BOTTLENECK_TEAM, build_world
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from tests.conftest import ANCHOR

DELIVERY_MARTS = "+path:models/marts/delivery"
CLEAN_GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}


def _build_delivery(tmp: Path) -> None:
    """`dbt build` of the delivery marts and everything they read (unit tests left out: CI runs them)."""
    result = dbtRunner().invoke([
        "build", "--select", DELIVERY_MARTS, "--indirect-selection", "cautious", "--exclude-resource-type", "unit_test",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROJECT_ROOT), "--target", "duckdb",
        "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), "--quiet",
    ])
    assert result.success, result.exception or [r.message for r in result.result if r.status not in ("success", "pass")]


def _query(path: Path, sql: str, *params) -> list[tuple]:
    # dbt ran in this process and may keep its connection: open the file with the same configuration
    with duckdb.connect(str(path)) as conn:
        return conn.execute(sql, list(params)).fetchall()


SCALE = 0.25  # ~2.5 pull requests a month per repository: enough on each side of the AI adoption date


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample organisation at scale 0.25: org config, tracker and GitHub loaded, the delivery marts built."""
    tmp = tmp_path_factory.mktemp("delivery")
    sample = tmp / "sample"
    generate_sample(sample, scale=SCALE, anchor=ANCHOR)
    path = tmp / "warehouse.duckdb"
    config = load_org_config(sample / "org.yml")
    with pytest.MonkeyPatch.context() as mp, SampleApiServer(sample) as server:
        mp.chdir(tmp)
        mp.setenv("FLOWMART_DUCKDB_PATH", str(path))
        mp.setenv("FLOWMART_PIPELINES_DIR", str(tmp / "pipelines"))
        mp.setenv("FLOWMART_TARGET", "duckdb")
        mp.setenv("SOURCES__JIRA__BASE_URL", server.url)
        mp.setenv("SOURCES__JIRA__EMAIL", "tester@acme.example")
        mp.setenv("SOURCES__JIRA__API_TOKEN", "token")
        mp.setenv("SOURCES__GITHUB__BASE_URL", server.url)
        mp.setenv("SOURCES__GITHUB__ACCESS_TOKEN", "token")
        org.load(config, sample)
        jira.load(config, sample)
        github.load(config, sample)
        _build_delivery(tmp)
    return path


def test_the_review_bottleneck_team_has_the_highest_pickup_time(sample_warehouse):
    rows = _query(sample_warehouse, """
        select team, median(pickup_minutes), count(*) from marts.pull_request_cycle_times
        where not is_bot_authored and pickup_minutes is not null group by team""")
    pickup = {team: minutes for team, minutes, _ in rows}
    assert len(pickup) == 8 and all(n >= 20 for _, _, n in rows), rows
    slowest = max(pickup, key=pickup.get)
    assert slowest == REVIEW_BOTTLENECK_TEAM, pickup
    others = sorted(v for team, v in pickup.items() if team != REVIEW_BOTTLENECK_TEAM)
    assert pickup[REVIEW_BOTTLENECK_TEAM] > 3 * others[-1], pickup  # a bottleneck, not noise
    # the team mart says the same, month after month (median over the months with merges)
    monthly = _query(sample_warehouse, """
        select team, median(pickup_p50_minutes) from marts.delivery_metrics_by_team
        where grain = 'month' and pickup_p50_minutes is not null group by team""")
    assert max(monthly, key=lambda r: r[1])[0] == REVIEW_BOTTLENECK_TEAM, monthly


def test_the_ai_adopting_teams_changes_are_flagged_from_its_adoption_date(sample_warehouse):
    midpoint = build_world(scale=SCALE, anchor=ANCHOR).midpoint.replace(tzinfo=None)
    rows = _query(sample_warehouse, """
        select team, opened_at >= ? as adopted, avg(case when is_ai_assisted then 1.0 else 0.0 end), count(*)
        from marts.pull_request_cycle_times where not is_bot_authored group by all""", midpoint)
    share = {(team, adopted): (value, n) for team, adopted, value, n in rows}
    before, n_before = share[(AI_ADOPTION_TEAM, False)]
    after, n_after = share[(AI_ADOPTION_TEAM, True)]
    assert n_before >= 15 and n_after >= 15, share
    assert after >= 0.5 and before <= 0.2, share
    for (team, _), (value, _) in share.items():
        if team != AI_ADOPTION_TEAM:
            assert value == 0.0, (team, value)
    # the team mart's monthly share follows: high after the adoption, low before
    months = _query(sample_warehouse, """
        select period_start >= cast(? as date), avg(ai_assisted_pct) from marts.delivery_metrics_by_team
        where team = ? and grain = 'month' and pull_requests_merged > 0 group by 1""",
                    midpoint.date().replace(day=1), AI_ADOPTION_TEAM)
    pct = dict(months)
    assert pct[True] > 40 > 15 > pct[False], pct


def test_every_merged_pull_request_appears_once_and_only_counted_deployments_ship(sample_warehouse):
    merged = _query(sample_warehouse, "select count(*) from staging.stg_github__pull_requests where is_merged")[0][0]
    rows = _query(sample_warehouse, "select count(*), count(distinct pr_id) from marts.pull_request_cycle_times")
    assert rows == [(merged, merged)] and merged > 100
    shipped_by = _query(sample_warehouse, """
        select d.is_counted, d.deployment_status, count(*) from marts.pull_request_cycle_times as p
        inner join marts.production_deployments as d using (deployment_id) group by all""")
    assert [(counted, status) for counted, status, _ in shipped_by] == [(True, "success")], shipped_by
    # a change fail rate is a share of deployments: failed ones are never more than all of them
    assert _query(sample_warehouse, """
        select count(*) from marts.delivery_metrics_by_service
        where failed_deployments > production_deployments or change_fail_rate_pct > 100""") == [(0,)]


def test_no_person_reaches_the_delivery_marts(sample_warehouse):
    people = {r[0] for r in _query(sample_warehouse, """
        select author_id from staging.stg_github__pull_requests where author_id is not null
        union select reviewer_id from staging.stg_github__reviews where reviewer_id is not null
        union select commenter_id from staging.stg_github__pr_comments where commenter_id is not null""")}
    assert people
    columns = _query(sample_warehouse, """
        select table_name, column_name from information_schema.columns
        where table_schema = 'marts' and data_type = 'VARCHAR' and table_name in (
            'production_deployments', 'production_incidents', 'pull_request_cycle_times',
            'delivery_metrics_by_service', 'delivery_metrics_by_team', 'delivery_metrics_by_value_stream',
            'team_delivery_baselines')""")
    assert len({table for table, _ in columns}) == 7
    for table, column in columns:
        values = {r[0] for r in _query(sample_warehouse, f'select distinct "{column}" from marts."{table}"')}
        assert not values & people, (table, column)


# --- the local Git path ----------------------------------------------------------------------------


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env=os.environ | CLEAN_GIT_ENV | (env or {}))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _commit(repo: Path, message: str, authored: str) -> str:
    (repo / f"{message}.txt").write_text(message)
    _git(repo, "add", ".")
    who = {"GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@acme.example",
           "GIT_COMMITTER_NAME": "Ada Lovelace", "GIT_COMMITTER_EMAIL": "ada@acme.example"}
    _git(repo, "commit", "-q", "-m", message, env=who | {"GIT_AUTHOR_DATE": authored, "GIT_COMMITTER_DATE": authored})
    return _git(repo, "rev-parse", "HEAD")


def _tag(repo: Path, name: str, at: str) -> None:
    _git(repo, "tag", "-a", name, "-m", name, env={"GIT_COMMITTER_NAME": "Ci", "GIT_COMMITTER_EMAIL": "ci@acme.example",
                                                    "GIT_COMMITTER_DATE": at})


def test_deploy_tags_of_a_local_repository_give_deployments_and_lead_times(tmp_path, warehouse):
    """billing: c1 (Mon 09:00 UTC) tagged release-1 at 12:00; c2 (Tue 09:00) and c3 (Wed 09:00+01:00) tagged
    release-2 on Wed 21:00; a tag that does not match the pattern is no deployment. Lead times 3, 36 and 13
    hours: the week's median 13 h, p85 29.1 h (continuous percentile), 2 deployments on 2 days."""
    repo = tmp_path / "repos" / "billing"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    c1 = _commit(repo, "c1", "2024-03-04T09:00:00+00:00")
    _tag(repo, "release-1", "2024-03-04T12:00:00+00:00")
    _commit(repo, "c2", "2024-03-05T09:00:00+00:00")
    c3 = _commit(repo, "c3", "2024-03-06T09:00:00+01:00")  # 08:00 UTC
    _tag(repo, "release-2", "2024-03-06T21:00:00+00:00")
    _tag(repo, "nightly-2024-03-06", "2024-03-06T22:00:00+00:00")
    config = parse_org_config({
        "value_streams": [{"name": "Finance"}],
        "teams": [{"name": "ledger", "value_stream": "Finance"}],
        "ownership": {"git": [{"repository": "billing", "team": "ledger", "service": "billing-api"}]},
        "git": {"repositories": ["repos/billing"], "deploy_tag_pattern": r"^release-\d+$"},
    })
    org.load(config, tmp_path)
    assert git_loader.load(config, tmp_path)["deployments"] == 2
    _build_delivery(tmp_path)

    deployments = _query(warehouse, """
        select deployment_id, source_system, service, team, value_stream, sha, finished_at, is_counted
        from marts.production_deployments order by finished_at""")
    assert deployments == [
        ("git_tag:billing@release-1", "git_tag", "billing-api", "ledger", "Finance", c1,
         datetime(2024, 3, 4, 12), True),
        ("git_tag:billing@release-2", "git_tag", "billing-api", "ledger", "Finance", c3,
         datetime(2024, 3, 6, 21), True),
    ]
    week = _query(warehouse, """
        select deployments, deployment_days, changes_deployed, change_lead_time_p50_hours, change_lead_time_p85_hours,
               change_lead_time_band, change_fail_rate_pct
        from marts.delivery_metrics_by_service where service = 'billing-api' and grain = 'week'
        and period_start = date '2024-03-04'""")
    assert len(week) == 1
    deployments_n, days, changes, p50, p85, band, fail = week[0]
    assert (deployments_n, days, changes, band, fail) == (2, 2, 3, "elite", 0.0)
    assert p50 == pytest.approx(13.0) and p85 == pytest.approx(13 + 0.7 * (36 - 13))
    # the value stream and team marts roll the same deployments up
    assert _query(warehouse, """
        select deployments, changes_deployed from marts.delivery_metrics_by_value_stream
        where value_stream = 'Finance' and grain = 'month' and period_start = date '2024-03-01'""") == [(2, 3)]
    assert _query(warehouse, "select count(*) from marts.delivery_metrics_by_team where team = 'ledger' "
                             "and grain = 'week' and deployments > 0") == [(1,)]
    # the spine runs to now: the later weeks exist, empty
    assert _query(warehouse, "select sum(deployments), count(*) > 10 from marts.delivery_metrics_by_service "
                             "where grain = 'week'") == [(2, True)]


# --- the delivery-events path ----------------------------------------------------------------------

EVENTS = """kind,id,service,environment,sha,status,started_at,finished_at,resolved_at,severity,caused_by_deployment
incident,inc-0,checkout-api,,,,2024-03-03T10:00:00Z,,2024-03-03T11:00:00Z,SEV2,
deployment,job-1a,checkout-api,production,abc1234,success,2024-03-04T10:00:00Z,2024-03-04T10:05:00Z,,,
deployment,job-1b,checkout-api,production,abc1234,success,2024-03-04T10:06:00Z,2024-03-04T10:09:00Z,,,
deployment,stg-1,checkout-api,staging,abc1234,success,2024-03-04T09:00:00Z,2024-03-04T09:05:00Z,,,
incident,inc-1,checkout-api,,,,2024-03-04T12:00:00Z,,2024-03-04T14:00:00Z,SEV2,
incident,inc-1b,checkout-api,,,,2024-03-04T13:00:00Z,,2024-03-04T13:30:00Z,SEV3,
deployment,d2,checkout-api,production,def5678,rolled_back,2024-03-05T10:00:00Z,2024-03-05T10:10:00Z,,,
incident,inc-2,checkout-api,,,,2024-03-05T09:00:00Z,,2024-03-05T10:30:00Z,SEV1,d2
deployment,d3,checkout-api,production,0123abc,success,2024-03-05T11:00:00Z,2024-03-05T11:40:00Z,,,
"""


def test_a_delivery_events_file_gives_deployments_failures_and_incidents(tmp_path, warehouse):
    """Two job records of one deployment count once; two incidents hit it (failed once); d2 rolled back, and an
    incident names it (explicit link, though it started before d2 finished); d3 recovers d2; an incident before
    any deployment is attributed to none; the staging deployment is out of every DORA figure."""
    (tmp_path / "events.csv").write_text(EVENTS)
    config = parse_org_config({
        "value_streams": [{"name": "Payments"}],
        "teams": [{"name": "checkout", "value_stream": "Payments"}],
        "ownership": {"git": [{"repository": "acme/checkout", "team": "checkout", "service": "checkout-api"}]},
        "delivery": {"files": ["events.csv"]},
    })
    org.load(config, tmp_path)
    delivery_loader.load(config, tmp_path)
    _build_delivery(tmp_path)

    assert _query(warehouse, """
        select deployment_id, team, deployment_status, record_count, is_counted, incident_count, is_failed,
               recovered_at, recovery_hours
        from marts.production_deployments order by finished_at""") == [
        ("delivery_events:job-1a", "checkout", "success", 2, True, 2, True, datetime(2024, 3, 4, 14), 2.0),
        # failed from its incident's start (09:00, before the deployment finished) to d3's finish
        ("delivery_events:d2", "checkout", "rolled_back", 1, False, 1, True, datetime(2024, 3, 5, 11, 40),
         pytest.approx(8 / 3)),
        ("delivery_events:d3", "checkout", "success", 1, True, 0, False, None, None),
    ]
    assert _query(warehouse, """
        select incident_id, deployment_id, attribution from marts.production_incidents order by started_at""") == [
        ("delivery_events:inc-0", None, None),
        ("delivery_events:inc-1", "delivery_events:job-1a", "latest_deployment_before"),
        ("delivery_events:inc-1b", "delivery_events:job-1a", "latest_deployment_before"),
        ("delivery_events:inc-2", "delivery_events:d2", "explicit_link"),
    ]
    week = _query(warehouse, """
        select deployments, deployment_days, production_deployments, failed_deployments, change_fail_rate_pct,
               change_fail_rate_band, recovery_time_p50_hours
        from marts.delivery_metrics_by_team where team = 'checkout' and grain = 'week'
        and period_start = date '2024-03-04'""")
    assert len(week) == 1
    deployments_n, days, production, failed, rate, band, recovery = week[0]
    assert (deployments_n, days, production, failed, band) == (2, 2, 3, 2, "low")
    assert rate == pytest.approx(200 / 3) and recovery == pytest.approx((2 + 8 / 3) / 2)
