"""Where things live: the warehouse file, the dlt pipelines folder, the destination of a load."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dlt

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_DUCKDB_PATH = "warehouse/flowmart.duckdb"

TARGETS = ("duckdb", "postgres", "spark")

# After a merge, dlt keeps the merged rows in `raw_<source>_staging`; empty it so no copy of a loaded
# row lingers outside the tables the models read (privacy, and disk).
os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
# dlt keeps each completed load package with a copy of its rows under the pipelines folder: delete them.
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
# No anonymous usage statistics from dlt (dbt's are off in dbt_project.yml); set to true to send them.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def duckdb_path() -> Path:
    """Absolute path of the DuckDB warehouse (FLOWMART_DUCKDB_PATH, default warehouse/flowmart.duckdb).

    Resolved once against the current directory and exported back, so dbt (which runs from the dbt
    project folder under Dagster) sees the same absolute file."""
    path = Path(os.environ.get("FLOWMART_DUCKDB_PATH", DEFAULT_DUCKDB_PATH)).expanduser()
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    os.environ["FLOWMART_DUCKDB_PATH"] = str(path)
    return path


def spark_dir() -> Path:
    """The Spark target's local folder (FLOWMART_SPARK_DIR, default beside the DuckDB warehouse): the loaders'
    landing file, the Parquet lake (unless FLOWMART_LAKE_URL names an object store), and, in session mode,
    Spark's metastore and warehouse. Resolved to an absolute path and exported, like the DuckDB path."""
    path = Path(os.environ.get("FLOWMART_SPARK_DIR") or duckdb_path().parent / "spark").expanduser()
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    os.environ["FLOWMART_SPARK_DIR"] = str(path)
    return path


def lake_url() -> str:
    """Where the Spark target's raw tables land as Parquet: FLOWMART_LAKE_URL (any bucket URL dlt's filesystem
    destination supports: s3://, gs://, az://, file://, a local folder), default <spark dir>/lake. Exported, so
    dbt registers the same location."""
    url = os.environ.get("FLOWMART_LAKE_URL") or str(spark_dir() / "lake")
    if "://" not in url and not Path(url).is_absolute():
        url = str((Path.cwd() / url).resolve())
    os.environ["FLOWMART_LAKE_URL"] = url
    return url


def landing_path(target: str) -> Path:
    """The DuckDB file the loaders write: the warehouse itself, or for Spark its landing file (the loaders
    merge and keep their cursors there; each load is then published to the lake, pipelines.lake)."""
    return spark_dir() / "landing.duckdb" if target == "spark" else duckdb_path()


def pipelines_dir() -> Path:
    """dlt's working folder (state, load packages), kept beside the warehouse, not in the home folder."""
    if os.environ.get("FLOWMART_PIPELINES_DIR"):
        return Path(os.environ["FLOWMART_PIPELINES_DIR"]).resolve()
    return duckdb_path().parent / ".dlt_pipelines"


def postgres_credentials() -> str:
    host = os.environ.get("FLOWMART_PG_HOST", "localhost")
    port = os.environ.get("FLOWMART_PG_PORT", "5432")
    user = os.environ.get("FLOWMART_PG_USER", "flowmart")
    password = os.environ.get("FLOWMART_PG_PASSWORD", "")
    dbname = os.environ.get("FLOWMART_PG_DBNAME", "flowmart")
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}"


def destination(target: str | None = None):
    target = target or os.environ.get("FLOWMART_TARGET", "duckdb")
    if target in ("duckdb", "spark"):
        path = landing_path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(str(path))
    if target == "postgres":
        return dlt.destinations.postgres(postgres_credentials())
    raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")


_LOADING_ASIDE: set[str] = set()
ASIDE_PREFIX = "aside_"


@contextlib.contextmanager
def loading_aside(source: str) -> Iterator[None]:
    """Inside the block, the pipeline of `source` lands in `aside_raw_<source>` with its own dlt state (in
    the `aside` folder of the pipelines folder): a full refresh loads there first (orchestration.refresh)."""
    _LOADING_ASIDE.add(source)
    try:
        yield
    finally:
        _LOADING_ASIDE.discard(source)


def make_pipeline(source: str, target: str | None = None, dev_mode: bool = False) -> dlt.Pipeline:
    """The dlt pipeline of one source: `flowmart_<source>` landing in dataset `raw_<source>` (in
    `aside_raw_<source>` inside `loading_aside(source)`)."""
    target = target or os.environ.get("FLOWMART_TARGET", "duckdb")
    aside = source in _LOADING_ASIDE
    return dlt.pipeline(
        pipeline_name=f"flowmart_{source}_{target}",
        destination=destination(target),
        dataset_name=f"{ASIDE_PREFIX if aside else ''}raw_{source}",
        pipelines_dir=str(pipelines_dir() / "aside" if aside else pipelines_dir()),
        dev_mode=dev_mode,
    )


def file_format(target: str | None = None) -> str:
    """The fastest load file format per destination: parquet for DuckDB (and Spark's landing file), COPY-able
    CSV for PostgreSQL
    (the default INSERT statements are an order of magnitude slower on 100k-row tables)."""
    target = target or os.environ.get("FLOWMART_TARGET", "duckdb")
    return "csv" if target == "postgres" else "parquet"


def run_pipeline(pipeline: dlt.Pipeline, data, target: str | None = None, **kwargs):
    """`pipeline.run` with the destination's fast file format."""
    return pipeline.run(data, loader_file_format=file_format(target), **kwargs)


def row_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows the last run of `pipeline` normalised, per table (dlt's own tables left out)."""
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace is not None else None
    counts = dict(info.row_counts) if info is not None else {}
    return {table: n for table, n in sorted(counts.items()) if not table.startswith("_dlt")}
