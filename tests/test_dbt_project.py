"""The dbt project holds together on its own: every raw table is declared with typed columns (so a source
that is not configured builds as empty tables), every mart documents its columns under an enforced
contract, and the whole project builds and tests on a warehouse where nothing was loaded."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb
import yaml

from orchestration import runner

DBT = Path(__file__).resolve().parent.parent / "dbt_project"


def _yaml_files(pattern: str) -> list[Path]:
    return sorted(DBT.glob(pattern))


def test_every_source_table_declares_typed_columns_and_its_dagster_asset():
    for path in _yaml_files("models/staging/*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                where = f"{path.name}: {source['name']}.{table['name']}"
                assert table.get("columns"), f"{where} declares no columns"
                assert all(c.get("data_type") for c in table["columns"]), f"{where} has an untyped column"
                key = table["meta"]["dagster"]["asset_key"][0]
                assert key.startswith(f"dlt_{source['name']}_"), where


def test_every_mart_enforces_a_documented_contract():
    for path in _yaml_files("models/marts/*/_*__models.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            assert model.get("description"), f"{model['name']} has no description"
            for column in model.get("columns", []):
                assert column.get("description"), f"{model['name']}.{column['name']} is not described"
                assert column.get("data_type"), f"{model['name']}.{column['name']} has no contract type"
            sql = next(DBT.glob(f"models/marts/*/{model['name']}.sql"))
            assert sql.exists()


def test_the_project_builds_and_tests_on_an_empty_warehouse(warehouse, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    counts = runner.dbt_build("duckdb", extra_args=["--target-path", str(warehouse.parent / "target")])
    assert counts["success"] == 1 and counts["tests_failed"] == 0 and counts["errors"] == 0, counts
    conn = duckdb.connect(str(warehouse))  # dbt ran in this process: same configuration as its connection
    try:
        assert conn.execute("select count(*) from marts.team_weekly_throughput").fetchone()[0] == 0
        assert conn.execute("select count(*) from raw_github.pull_requests").fetchone()[0] == 0
    finally:
        conn.close()


def test_a_full_refresh_of_part_of_the_project_rebuilds_what_depends_on_it(warehouse, monkeypatch):
    """`flowmart build --select int_work_items_measured --full-refresh`: the incremental models downstream take
    only what changed since their last run, so they are rebuilt in full with it; what it depends on is not."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    target = warehouse.parent / "target"
    assert runner.dbt_build("duckdb", extra_args=["--target-path", str(target)], unit_tests=False)["success"] == 1
    counts = runner.dbt_build("duckdb", select=["int_work_items_measured"], full_refresh=True,
                              extra_args=["--target-path", str(target)], unit_tests=False)
    assert counts["success"] == 1 and counts["errors"] == 0, counts
    results = json.loads((target / "run_results.json").read_text())
    assert results["args"]["full_refresh"] is True
    ran = {r["unique_id"].split(".")[-1] for r in results["results"] if r["unique_id"].startswith("model.")}
    assert {"int_work_items_measured", "int_daily_wip_snapshotted", "int_flow_waits_daily",
            "int_flow_metrics_aggregated", "completed_work_items", "flow_waiting_time_by_status",
            "flow_metrics_by_team",
            "team_flow_baselines"} <= ran, ran
    assert not ran & {"int_work_items_owned", "int_status_periods_classified", "int_work_items_superseded"}, ran
