"""The dbt project holds together on its own: every raw table is declared with typed columns (so a source
that is not configured builds as empty tables), every mart documents its columns under an enforced
contract, and the whole project builds and tests on a warehouse where nothing was loaded."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from dbt.cli.main import dbtRunner

from orchestration import runner

DBT = Path(__file__).resolve().parent.parent / "dbt_project"


def _yaml_files(pattern: str) -> list[Path]:
    files = sorted(DBT.glob(pattern))
    assert files, f"no file matches {pattern}"
    return files


def test_every_source_table_declares_typed_columns_and_its_dagster_asset():
    for path in _yaml_files("models/staging/*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                where = f"{path.name}: {source['name']}.{table['name']}"
                assert table.get("columns"), f"{where} declares no columns"
                assert all(c.get("data_type") for c in table["columns"]), f"{where} has an untyped column"
                key = table["meta"]["dagster"]["asset_key"][0]
                assert key.startswith(f"dlt_{source['name']}_"), where


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The parsed project (dbt parse), with the folder configs of dbt_project.yml applied."""
    target = tmp_path_factory.mktemp("parse")
    parsed = dbtRunner().invoke(["parse", "--project-dir", str(DBT), "--profiles-dir", str(DBT.parent),
                                 "--target-path", str(target), "--quiet"])
    assert parsed.success, parsed.exception
    return json.loads((target / "manifest.json").read_text())


def _models(manifest: dict, layer: str) -> list[dict]:
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["fqn"][1] == layer]


def test_every_mart_enforces_a_contract_and_describes_every_column(manifest):
    marts = _models(manifest, "marts")
    assert len(marts) >= 7
    for node in marts:
        name = node["name"]
        assert node["config"]["contract"]["enforced"], f"{name} has no enforced contract"
        assert node["description"].strip(), f"{name} has no description"
        assert node["columns"], f"{name} declares no columns"
        for column in node["columns"].values():
            assert column["description"].strip(), f"{name}.{column['name']} is not described"
            assert column["data_type"], f"{name}.{column['name']} has no contract type"
        assert (DBT / node["original_file_path"]).is_file(), name


def test_every_model_is_a_plain_view_or_table(manifest):
    """Staging models are views, every other model a table rebuilt in full: no incremental logic, no hooks."""
    for node in (n for n in manifest["nodes"].values() if n["resource_type"] == "model"):
        expected = "view" if node["fqn"][1] == "staging" else "table"
        assert node["config"]["materialized"] == expected, node["name"]
        assert not node["config"]["pre-hook"] and not node["config"]["post-hook"], node["name"]


def test_flow_metric_descriptions_come_from_one_docs_block_each(manifest):
    """The definitions are written once (models/docs/flow_metrics.md) and the marts' descriptions use them."""
    blocks = {d["name"]: d["block_contents"].strip() for d in manifest["docs"].values()
              if d["package_name"] == "flowmart"}
    assert {"flow_time", "flow_efficiency", "flow_completed", "flow_load"} <= blocks.keys()
    efficiency = manifest["nodes"]["model.flowmart.flow_metrics_by_team"]["columns"]["flow_efficiency_pct"]
    assert efficiency["description"] == blocks["flow_efficiency"]
    per_item = manifest["nodes"]["model.flowmart.completed_work_items"]["columns"]["flow_efficiency_pct"]
    assert per_item["description"] == blocks["flow_efficiency"]


def test_every_unit_test_name_fits_a_postgresql_identifier(manifest):
    """dbt names a unit test's relation after it; PostgreSQL refuses names over 63 characters."""
    long = [n["name"] for n in manifest["unit_tests"].values() if len(n["name"]) > 63]
    assert manifest["unit_tests"] and not long, long


def test_the_report_exposure_depends_on_exactly_the_marts_its_questions_read(manifest):
    from orchestration.report import queries, tables_read

    read = {table for sql in queries().values() for table in tables_read(sql)}
    exposure = manifest["exposures"]["exposure.flowmart.flowmart_report"]
    assert {node.split(".")[-1] for node in exposure["depends_on"]["nodes"]} == read


def test_the_docs_site_opens_on_an_overview_that_links_existing_marts(manifest):
    import re

    overview = manifest["docs"]["doc.flowmart.__overview__"]["block_contents"]
    linked = set(re.findall(r"#!/model/model\.flowmart\.(\w+)", overview))
    marts = {n["name"] for n in _models(manifest, "marts")}
    assert len(linked) >= 8 and linked <= marts, linked - marts


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
