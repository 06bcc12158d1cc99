"""Orchestration stays honest: the definitions load as one graph (dlt assets feed the dbt sources, dbt
tests are asset checks), and the whole graph materialises on the sample organisation."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import ANCHOR


@pytest.fixture
def definitions(warehouse, monkeypatch):
    monkeypatch.setenv("FLOWMART_SAMPLE", "1")
    monkeypatch.setenv("FLOWMART_SAMPLE_SCALE", "0.05")
    monkeypatch.setenv("FLOWMART_SAMPLE_ANCHOR", ANCHOR.isoformat())
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}")
    module = importlib.import_module("orchestration.definitions")
    module = importlib.reload(module)  # resolve the warehouse path of this test
    return module.defs


def test_definitions_load_as_one_graph(definitions):
    graph = definitions.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"dlt_jira_issues", "dlt_jira_changelog_items", "dlt_org_teams"} <= keys
    stg = dg.AssetKey(["staging", "stg_jira__issues"])
    if stg not in graph.get_all_asset_keys():
        stg = next(k for k in graph.get_all_asset_keys() if k.path[-1] == "stg_jira__issues")
    parents = {p.to_user_string() for p in graph.get(stg).parent_keys}
    assert "dlt_jira_issues" in parents, "the dbt source joins the dlt asset: one graph, not two islands"
    checks = list(graph.asset_check_keys)
    assert any(c.asset_key == stg for c in checks), "dbt tests surface as asset checks"
    assert definitions.resolve_job_def("flowmart_daily") is not None
    assert definitions.get_schedule_def("flowmart_daily_schedule").cron_schedule == "0 5 * * *"


@pytest.mark.slow
def test_the_whole_graph_materialises_on_the_sample(definitions, warehouse):
    result = definitions.resolve_job_def("flowmart_daily").execute_in_process()
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) > 100, "every dbt test ran as an asset check"
    failed = [e.check_name for e in evaluations
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert failed == []
    conn = duckdb.connect(str(warehouse), read_only=True)
    teams = conn.execute("select count(distinct team) from marts.team_weekly_throughput "
                         "where items_completed > 0").fetchone()[0]
    issues = conn.execute("select count(*) from raw_jira.issues").fetchone()[0]
    conn.close()
    assert teams == 8 and issues > 500

    # the next daily run rebuilds every model and runs every test again
    again = definitions.resolve_job_def("flowmart_daily").execute_in_process()
    assert again.success
    built = {e.asset_key.path[-1] for e in again.get_asset_materialization_events()}
    assert {"stg_jira__issues", "stg_org__teams", "completed_work_items", "flow_metrics_by_team"} <= built, built
    checks = {e.check_name for e in again.get_asset_check_evaluations()}
    assert [c for c in checks if c.startswith("unique_stg_org__teams")], checks
    assert [c for c in checks if c.startswith("accepted_values_flow_metrics_by_team_grain")], checks
    assert any(c.startswith("relationships_completed_work_items_team") for c in checks), checks
