"""Dagster definitions: one graph from each loaded table (`dlt_<source>_<table>`) through every dbt model to
the HTML report; every dbt test is an asset check; a daily job loads every configured source, builds and
writes the report; a freshness check fails when a source's last load is too old.

Open the UI with `make dagster` (`dg dev`, settings under [tool.dg] in pyproject.toml). Without configured
sources the loads run on the built-in sample organisation behind its local API server, as `flowmart run`.
"""

import os
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from dagster_dlt import DagsterDltTranslator, build_dlt_asset_specs

from orchestration import runner, sources
from orchestration.report import queries, tables_read, write_report
from orchestration.warehouse import Warehouse
from pipelines.orgconfig import load_org_config
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, duckdb_path, lake_url, landing_path

duckdb_path()  # resolve FLOWMART_DUCKDB_PATH to an absolute path once: dbt runs from the dbt folder
lake_url()  # the same for the Spark target's folders (FLOWMART_TARGET=spark runs the graph on Spark)

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=PROJECT_ROOT)


def _manifest_is_stale() -> bool:
    manifest = Path(dbt_project.manifest_path)
    if not manifest.exists():
        return True
    project = Path(DBT_PROJECT_DIR)
    files = [project / "dbt_project.yml", *(f for d in ("models", "tests", "macros") for f in (project / d).rglob("*"))]
    return max(f.stat().st_mtime for f in files if f.is_file()) > manifest.stat().st_mtime


# `make dagster` parses before `dg dev` starts; a clean checkout or an edited model parses here (`dbt parse`)
if _manifest_is_stale():
    dbt_project.preparer.prepare(dbt_project)

LOAD_CHECK = "load_succeeded"
MAX_LOAD_AGE_HOURS = 36.0  # a daily load plus slack; FLOWMART_MAX_LOAD_AGE_HOURS overrides it


def _target() -> str:
    return os.environ.get("FLOWMART_TARGET", "duckdb")


# --- loads: each source through runner.load_source, the function `flowmart run` and `flowmart load` call ---


class FlowmartDltTranslator(DagsterDltTranslator):
    """dagster-dlt's default keys (dlt_<source>_<resource>), without the placeholder upstream assets it
    would add for each source: the loaders' inputs are outside systems, not assets of this graph."""

    def get_asset_spec(self, data: Any) -> dg.AssetSpec:
        return super().get_asset_spec(data).replace_attributes(deps=[])


def load_specs(name: str) -> list[dg.AssetSpec]:
    """The tables a loader writes, one asset each; the dbt sources point at these keys (`meta.dagster`)."""
    specs = build_dlt_asset_specs(dlt_source=sources.definition_source(name), dlt_pipeline=sources.pipeline(name),
                                  dagster_dlt_translator=FlowmartDltTranslator())
    return [spec.replace_attributes(group_name=f"raw_{name}") for spec in specs]


def _load_asset(name: str) -> dg.AssetsDefinition:
    specs = load_specs(name)

    @dg.multi_asset(
        name=f"load_{name}",
        specs=specs,
        check_specs=[dg.AssetCheckSpec(LOAD_CHECK, asset=s.key, description=f"the last {name} load succeeded")
                     for s in specs],
        description=f"`flowmart load {name}`: runner.load_source, as the CLI runs it.",
    )
    def _load(context: AssetExecutionContext) -> Iterator[Any]:
        # A failed load does not fail this step: Dagster would then skip the whole dbt build. It is a failed
        # check on each of the source's tables, with the error; the build leaves out the models downstream
        # of the source (they keep their last good state) and then fails the run, naming the source.
        error = None
        try:
            with sources.run_environment(["org", name]) as (org, org_dir):
                counts = runner.load_source(name, org, org_dir, _target())
        except Exception as exc:  # noqa: BLE001 - reported as the failed check below
            error = f"{type(exc).__name__}: {exc}"
            context.log.error(f"loading {name} failed: {error}")
            counts = {}
        rows = {t: n for t, n in counts.items() if not t.startswith("_")}
        for spec in specs:
            metadata = {"load": dg.MetadataValue.text(f"failed: {error}" if error else "succeeded"),
                        "rows loaded (source)": dg.MetadataValue.json(rows)}
            yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)
            yield dg.AssetCheckResult(asset_key=spec.key, check_name=LOAD_CHECK, passed=error is None,
                                      severity=dg.AssetCheckSeverity.ERROR,
                                      metadata={"error": dg.MetadataValue.text(error or "")})

    return _load


def _last_load(name: str) -> datetime | None:
    """When the last successful load of `name` finished (dlt's raw_<name>._dlt_loads); on Spark the loaders'
    bookkeeping stays in the landing file (pipelines.lake)."""
    sql = f"select max(inserted_at) from raw_{name}._dlt_loads where status = 0"
    if _target() == "spark":
        import duckdb

        if not landing_path("spark").exists():
            return None
        conn = duckdb.connect(str(landing_path("spark")), read_only=True)
        try:
            return conn.execute(sql).fetchone()[0]
        except duckdb.CatalogException:  # never loaded
            return None
        finally:
            conn.close()
    with Warehouse(_target()) as wh:
        return wh.scalar(sql) if wh.exists(f"raw_{name}", "_dlt_loads") else None


def _freshness_check(name: str, key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=key, name="loaded_recently", blocking=False,
                    description=f"The last successful {name} load (raw_{name}._dlt_loads) is at most "
                                "FLOWMART_MAX_LOAD_AGE_HOURS old (default 36 h).")
    def _check() -> dg.AssetCheckResult:
        max_age = float(os.environ.get("FLOWMART_MAX_LOAD_AGE_HOURS", MAX_LOAD_AGE_HOURS))
        last = _last_load(name)
        if last is None:
            return dg.AssetCheckResult(passed=False, metadata={"last load": "never"})
        last = last if last.tzinfo else last.replace(tzinfo=UTC)
        age = (datetime.now(UTC) - last).total_seconds() / 3600
        return dg.AssetCheckResult(passed=age <= max_age, metadata={
            "last load": dg.MetadataValue.timestamp(last), "age (hours)": round(age, 2),
            "max age (hours)": max_age})

    return _check


# what the sample organisation (pipelines/sample) configures; tests/test_dagster.py checks it
SAMPLE_SOURCES = ("org", "jira", "github", "survey")


def configured_sources() -> list[str]:
    """The sources the daily job loads, as `flowmart run` picks them: every source the configuration points
    at (an incomplete one fails its load with what is missing), or every loader on the sample."""
    config_path = runner.org_config_path()
    if os.environ.get("FLOWMART_SAMPLE") or (config_path is None and not runner.source_settings_set()):
        return [n for n in sources.DAGSTER_SOURCES if n in SAMPLE_SOURCES]
    try:
        pointed = runner.missing_settings(load_org_config(config_path)) if config_path else {}
    except Exception:  # noqa: BLE001 - the org load step reports the broken config
        return list(sources.DAGSTER_SOURCES)
    return [n for n in sources.DAGSTER_SOURCES if n == "org" or n in pointed]


# --- dbt: every model an asset, every test (generic and singular) an asset check ---


class FlowmartDbtTranslator(DagsterDbtTranslator):
    """Group = <layer>_<area> from the model's folder (staging_jira, marts_flow...), one rule for all."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) >= 3:
            return "_".join(fqn[1:3]) if len(fqn) > 3 else fqn[1]
        return super().get_group_name(dbt_resource_props)


def failed_loads(context: AssetExecutionContext) -> dict[str, str]:
    """Source -> error of the loads of this run that failed (their failed `load_succeeded` checks)."""
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000).records
    failed = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.check_name == LOAD_CHECK and not evaluation.passed:
            source = evaluation.asset_key.path[-1].split("_")[1]  # dlt_<source>_<table>
            failed[source] = evaluation.metadata["error"].value
    return failed


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
    # every model is rebuilt in full from the raw tables, then tested; unit tests check the models' logic,
    # not the data: CI runs them (as `flowmart run` without --unit-tests)
    args = ["build", "--exclude-resource-type", "unit_test"]
    failed = failed_loads(context)
    if failed:  # not from partial data: the models downstream of a failed load keep their last build
        args += ["--exclude", *(f"source:{name}+" for name in sorted(failed))]
    yield from dbt.cli(args, context=context).stream()
    if failed:
        raise dg.Failure(
            description="not rebuilt, their sources failed to load: models downstream of "
                        + "; ".join(f"{name} ({error})" for name, error in sorted(failed.items())))


# --- the HTML report, downstream of the marts it reads ---


def _report_deps() -> list[dg.AssetKey]:
    marts = {table for sql in queries().values() for table in tables_read(sql)}
    return sorted((k for k in flowmart_dbt_models.keys if k.path[-1] in marts), key=lambda k: k.path)


@dg.asset(deps=_report_deps(), group_name="report", kinds={"html"},
          description="`flowmart report`: warehouse/report/index.html, one self-contained page from the marts.")
def flowmart_report() -> dg.MaterializeResult:
    path = write_report(_target())
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})


# --- jobs and schedules ---

load_assets = {name: _load_asset(name) for name in sources.DAGSTER_SOURCES}
configured = configured_sources()
freshness_checks = [_freshness_check(name, next(iter(load_assets[name].keys))) for name in configured]

daily_job = dg.define_asset_job(
    "flowmart_daily",
    selection=dg.AssetSelection.assets(*[load_assets[n] for n in configured], flowmart_dbt_models,
                                       flowmart_report),
    description="Load every configured source, build and test every dbt model, write the report.",
    executor_def=dg.in_process_executor,  # one DuckDB writer at a time
)
freshness_job = dg.define_asset_job(
    "flowmart_freshness",
    selection=dg.AssetSelection.checks(*freshness_checks),
    description="Check that every configured source's last successful load is recent enough.",
    executor_def=dg.in_process_executor,
)

defs = dg.Definitions(
    assets=[*load_assets.values(), flowmart_dbt_models, flowmart_report],
    asset_checks=freshness_checks,
    jobs=[daily_job, freshness_job],
    schedules=[
        # on as soon as the code location loads; turn off in the UI (Automation) or with
        # `dagster schedule stop <name>`; see the README
        dg.ScheduleDefinition(name="flowmart_daily_schedule", job=daily_job, cron_schedule="0 5 * * *",
                              execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING),
        dg.ScheduleDefinition(name="flowmart_freshness_schedule", job=freshness_job, cron_schedule="0 * * * *",
                              execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING),
    ],
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
)
