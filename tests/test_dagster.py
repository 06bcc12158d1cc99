"""Orchestration stays honest: the definitions load as one graph from every source's tables through the marts
to the report, every dbt test is an asset check, the schedules are on, the daily job materialises on the
sample (a failed load leaves the models downstream of its source alone while the others build), the
freshness check fails on an old load, and the UI renders the graph in headless Chromium."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import ANCHOR
from tests.test_report import ARTEFACTS, _browser

ROOT = Path(__file__).resolve().parent.parent

# Raw tables no mart reads, each with why; every other table of every source leads to at least one mart.
DEAD_ENDS = {
    "dlt_jira_fields": "the field catalogue: resolves the org config's custom-field names, no metric of its own",
    "dlt_git_tags": "every tag, for people tracing a release; deployments come from dlt_git_deployments",
    "dlt_org_team_members": "membership by pseudonymised id: no mart reports on people",
    "dlt_org_survey_questions": "the org config's catalogue; the marts read the loaded one (dlt_survey_questions)",
    "dlt_survey_files": "the survey loader's record of the files it loaded (load each file once)",
    "dlt_survey_quarantine": "rejected survey values, for the people who fix the exports",
    "dlt_delivery_quarantine": "rejected delivery-event rows, for the people who fix the files",
}


def _load_definitions(monkeypatch) -> dg.Definitions:
    monkeypatch.setenv("FLOWMART_SAMPLE", "1")
    monkeypatch.setenv("FLOWMART_SAMPLE_SCALE", "0.05")
    monkeypatch.setenv("FLOWMART_SAMPLE_ANCHOR", ANCHOR.isoformat())
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    module = importlib.import_module("orchestration.definitions")
    module = importlib.reload(module)  # resolve the warehouse path of this test
    return module.defs


@pytest.fixture
def definitions(warehouse, monkeypatch):
    return _load_definitions(monkeypatch)


def _is_mart(key: dg.AssetKey) -> bool:
    return key.path[0] == "marts"


def test_the_graph_is_one_component_from_every_source_to_the_marts(definitions):
    graph = definitions.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    loads = {k for k in keys if k.path[-1].startswith("dlt_")}
    sources = {k.path[-1].split("_")[1] for k in loads}
    assert sources == {"org", "jira", "github", "git", "survey", "delivery"}

    def downstream(key: dg.AssetKey) -> set[dg.AssetKey]:
        seen, todo = set(), [key]
        while todo:
            for child in graph.get(todo.pop()).child_keys - seen:
                seen.add(child)
                todo.append(child)
        return seen

    without_mart = {k.path[-1] for k in loads if not any(_is_mart(d) for d in downstream(k))}
    assert without_mart == set(DEAD_ENDS), "a raw table no mart reads: list it in DEAD_ENDS with why"

    # one connected component holds every other table of every source, every mart and the report
    neighbours = {k: graph.get(k).parent_keys | graph.get(k).child_keys for k in keys}
    report = dg.AssetKey("flowmart_report")
    component, todo = {report}, [report]
    while todo:
        for n in neighbours[todo.pop()] - component:
            component.add(n)
            todo.append(n)
    outside = {k.to_user_string() for k in keys - component}
    dead_end_staging = {k.to_user_string() for d in DEAD_ENDS for k in downstream(dg.AssetKey(d))}
    assert outside == set(DEAD_ENDS) | dead_end_staging, "an island besides the listed dead ends"
    assert {k for k in keys if _is_mart(k)} <= component
    assert {k.path[-1] for k in graph.get(report).parent_keys} >= {"flow_metrics_by_value_stream",
                                                                  "delivery_metrics_by_value_stream"}


def test_every_dbt_test_is_an_asset_check(definitions):
    from orchestration.definitions import dbt_project

    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    tests = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    singular = {n["name"] for n in manifest["nodes"].values()
                if n["resource_type"] == "test" and not n.get("attached_node")}
    assert len(singular) >= 15
    checks = {c.name for c in definitions.resolve_asset_graph().asset_check_keys}
    assert tests - checks == set(), "a dbt test Dagster only observes"
    assert {"load_succeeded", "loaded_recently"} <= checks
    stg = dg.AssetKey(["staging", "stg_jira__issues"])
    assert "dlt_jira_issues" in {p.to_user_string() for p in definitions.resolve_asset_graph().get(stg).parent_keys}


def test_the_schedules_are_on_by_default(definitions):
    daily = next(s for s in definitions.schedules if s.name == "flowmart_daily_schedule")
    assert daily.cron_schedule == "0 5 * * *" and daily.job_name == "flowmart_daily"
    for schedule in definitions.schedules:
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING, schedule.name


@pytest.mark.slow
def test_the_daily_job_materialises_and_a_failed_load_spares_the_other_sources(definitions, warehouse,
                                                                              monkeypatch):
    import pipelines.survey

    def broken(*args, **kwargs):
        raise RuntimeError("the survey export is unreadable")

    # a failed load: its check fails with the error, the models downstream of the source are not built,
    # every other model is, and the run fails naming the source
    with monkeypatch.context() as m:
        m.setattr(pipelines.survey, "load", broken)
        first = definitions.resolve_job_def("flowmart_daily").execute_in_process(raise_on_error=False)
    assert not first.success
    load_checks = [e for e in first.get_asset_check_evaluations() if e.check_name == "load_succeeded"]
    failed = {e.asset_key.path[-1]: e.metadata["error"].value for e in load_checks if not e.passed}
    assert set(failed) == {"dlt_survey_files", "dlt_survey_questions", "dlt_survey_responses",
                           "dlt_survey_quarantine"}
    assert all("the survey export is unreadable" in error for error in failed.values())
    built = {e.asset_key.path[-1] for e in first.get_asset_materialization_events()}
    assert {"flow_metrics_by_team", "delivery_metrics_by_team", "epic_outcomes"} <= built
    assert not built & {"stg_survey__responses", "team_sentiment", "team_dx_core_4", "flowmart_report"}
    failure = next(e for e in first.all_events if e.is_step_failure)
    assert "survey (RuntimeError: the survey export is unreadable)" in str(failure.event_specific_data.error)

    # the next run loads every source, rebuilds every model, passes every check and writes the report
    again = definitions.resolve_job_def("flowmart_daily").execute_in_process()
    assert again.success
    evaluations = again.get_asset_check_evaluations()
    assert len(evaluations) > 250, "every dbt test ran as an asset check"
    failed_checks = [(e.asset_key.to_user_string(), e.check_name, e.metadata) for e in evaluations
                     if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert failed_checks == []
    names = {e.check_name for e in evaluations}
    assert {"assert_flow_time_equals_active_plus_wait", "assert_suppressed_survey_cells_show_no_figure"} <= names
    built = {e.asset_key.path[-1] for e in again.get_asset_materialization_events()}
    assert {"stg_jira__issues", "completed_work_items", "team_sentiment", "team_dx_core_4", "flowmart_report"} <= built
    assert (warehouse.parent / "report" / "index.html").exists()
    conn = duckdb.connect(str(warehouse), read_only=True)
    teams = conn.execute("select count(distinct team) from marts.team_weekly_throughput "
                         "where items_completed > 0").fetchone()[0]
    issues = conn.execute("select count(*) from raw_jira.issues").fetchone()[0]
    conn.close()
    assert teams == 8 and issues > 500

    # freshness: every source was just loaded; with a maximum age of zero every source is too old
    fresh = definitions.resolve_job_def("flowmart_freshness").execute_in_process()
    assert {e.passed for e in fresh.get_asset_check_evaluations()} == {True}
    monkeypatch.setenv("FLOWMART_MAX_LOAD_AGE_HOURS", "0")
    stale = definitions.resolve_job_def("flowmart_freshness").execute_in_process()
    evaluations = stale.get_asset_check_evaluations()
    assert len(evaluations) == 4 and not any(e.passed for e in evaluations)

    # the sources the job loaded on the sample are the ones the sample's org config points at
    from orchestration.definitions import SAMPLE_SOURCES
    from orchestration.runner import missing_settings
    from pipelines.orgconfig import load_org_config

    sample_org = load_org_config(warehouse.parent / "sample" / "org.yml")
    assert {"org", *missing_settings(sample_org)} == set(SAMPLE_SOURCES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shows(driver, expected: list[str]) -> bool:
    """Whether the page shows every expected text; dismisses Dagster's first-visit newsletter dialog."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        button.click()
    text = driver.find_element(By.TAG_NAME, "body").text
    return all(e in text for e in expected)


@pytest.mark.slow
def test_the_dagster_ui_renders_the_lineage_and_a_mart_in_headless_chromium(warehouse, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = _free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "FLOWMART_SAMPLE": "1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-m", "orchestration.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(f"the Dagster webserver did not start:\n{server.stdout.read()}")
                time.sleep(1)
        driver = _browser(loopback=True)
        ARTEFACTS.mkdir(exist_ok=True)
        try:
            pages = {  # the global lineage (groups collapsed), one mart's lineage and its page
                "lineage": (f"{url}/asset-groups", ["raw_jira", "staging_jira", "marts_flow", "report"]),
                "mart-lineage": (f"{url}/assets/marts/flow_metrics_by_team?view=lineage",
                                 ["flow_metrics_by_team", "int_flow_metrics_aggregated", "flowmart_report"]),
                "mart": (f"{url}/assets/marts/flow_metrics_by_team",
                         ["flow_metrics_by_team", "The Flow Framework per team"]),
            }
            for name, (page, expected) in pages.items():
                driver.get(page)
                try:
                    WebDriverWait(driver, 60).until(lambda d, expected=expected: _shows(d, expected))
                finally:
                    driver.save_screenshot(str(ARTEFACTS / f"dagster-{name}.png"))
                text = driver.find_element(By.TAG_NAME, "body").text
                assert "Error" not in text.split("\n")[:5], text[:500]
        finally:
            driver.quit()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
