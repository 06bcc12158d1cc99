"""Dagster definitions: dlt assets (one per loaded table) -> dbt assets (one per model), dbt tests as
asset checks, one daily job that runs loads and transforms one after another (DuckDB has one writer).

Open the UI with `dagster dev -m orchestration.definitions` (see the README). Without configured
sources, the load assets run against the built-in sample organisation through its local API server,
exactly like `flowmart run`.
"""


import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets

from orchestration import sources
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, duckdb_path

duckdb_path()  # resolve FLOWMART_DUCKDB_PATH to an absolute path once: dbt runs from the dbt folder

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=PROJECT_ROOT)
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():  # tests and `dagster-webserver` outside `dagster dev`
    dbt_project.preparer.prepare(dbt_project)


class FlowmartDbtTranslator(DagsterDbtTranslator):
    """Group = <layer>_<area> from the model's folder (staging_jira, marts_flow...), one rule for all."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) >= 3:
            return "_".join(fqn[1:3]) if len(fqn) > 3 else fqn[1]
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=FlowmartDbtTranslator(
        # one dlt resource may write several tables (git's `commits` writes commits, files, trailers...):
        # their dbt sources all point at that resource's asset
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_duplicate_source_asset_keys=True)
    ),
)
def flowmart_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    # every model is rebuilt in full from the raw tables on every run, then tested
    yield from dbt.cli(["build"], context=context).stream()


class FlowmartDltTranslator(DagsterDltTranslator):
    """dagster-dlt's default keys (dlt_<source>_<resource>), without the placeholder upstream assets it
    would add for each source: the loaders' inputs are outside systems, not assets of this graph."""

    def get_asset_spec(self, data: Any) -> dg.AssetSpec:
        return super().get_asset_spec(data).replace_attributes(deps=[])


def _dlt_assets_for(name: str) -> dg.AssetsDefinition:
    """One multi-asset per source; keys are dagster-dlt's defaults (dlt_<source>_<resource>), which the
    dbt sources reference through `meta.dagster.asset_key`, so the lineage is one graph."""

    @dlt_assets(
        dlt_source=sources.definition_source(name),
        dlt_pipeline=sources.pipeline(name),
        name=f"load_{name}",
        group_name=f"raw_{name}",
        dagster_dlt_translator=FlowmartDltTranslator(),
    )
    def _load(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        yield from sources.run_step(name, dlt, context)

    return _load


load_assets = [_dlt_assets_for(name) for name in sources.DAGSTER_SOURCES]

daily_job = dg.define_asset_job(
    "flowmart_daily",
    selection=dg.AssetSelection.all(),
    description="Load every source, then build and test every dbt model.",
    executor_def=dg.in_process_executor,  # one DuckDB writer at a time
)

defs = dg.Definitions(
    assets=[*load_assets, flowmart_dbt_models],
    jobs=[daily_job],
    schedules=[
        dg.ScheduleDefinition(name="flowmart_daily_schedule", job=daily_job, cron_schedule="0 5 * * *",
                              execution_timezone="UTC"),
    ],
    resources={
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        "dlt": DagsterDltResource(),
    },
)
