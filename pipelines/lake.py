"""The Spark target's raw layer: Parquet files in a lake folder or bucket, written by dlt's filesystem destination.

The loaders are the same for every target: on Spark they merge into a local landing DuckDB file, which keeps
their cursors, merge keys, quarantine and full-refresh swap exactly as on DuckDB. After each load, `publish`
sends every raw table of that source through dlt's filesystem destination as Parquet (write disposition
`replace`: the lake holds the current rows, never a duplicate) to `<lake>/raw_<source>/<table>/`. dbt then
registers each source table as an external Spark table over its folder, with the columns the source YAML
declares (macro `flowmart_create_missing_sources`): a source never loaded reads as an empty table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa

from pipelines.settings import lake_url, landing_path, pipelines_dir

log = logging.getLogger("flowmart.lake")

BATCH_ROWS = 200_000


def _tables(conn: Any, dataset: str) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' "
        "and table_name not like '\\_dlt%' escape '\\' order by 1", [dataset]).fetchall()
    return [name for (name,) in rows]


def _table_resource(conn: Any, dataset: str, table: str) -> Any:
    @dlt.resource(name=table, write_disposition="replace")
    def rows() -> Iterator[pa.Table]:
        reader = conn.cursor().sql(f'select * from "{dataset}"."{table}"').to_arrow_reader(BATCH_ROWS)
        empty = True
        for batch in reader:
            empty = False
            yield pa.Table.from_batches([batch])
        if empty:  # an empty table still replaces what the lake held
            yield reader.schema.empty_table()

    return rows


def publish(source: str) -> dict[str, int]:
    """Copy every raw table of `source` from the landing file to the lake; returns rows per table."""
    import duckdb

    dataset = f"raw_{source}"
    conn = duckdb.connect(str(landing_path("spark")), read_only=True)
    try:
        tables = _tables(conn, dataset)
        if not tables:
            return {}
        counts = {t: conn.execute(f'select count(*) from "{dataset}"."{t}"').fetchone()[0] for t in tables}
        pipeline = dlt.pipeline(
            pipeline_name=f"flowmart_{source}_lake",
            destination=dlt.destinations.filesystem(bucket_url=lake_url()),
            dataset_name=dataset,
            pipelines_dir=str(pipelines_dir()),
        )
        pipeline.run([_table_resource(conn, dataset, t) for t in tables], loader_file_format="parquet")
    finally:
        conn.close()
    log.info("published raw_%s to %s: %s rows in %d tables", source, lake_url(), f"{sum(counts.values()):,}",
             len(counts))
    return counts
