"""Rows to Arrow tables with a fixed schema.

Arrow items skip dlt's row-by-row normalisation (several times faster on large tables), and an empty
Arrow table still creates its table, so dbt always finds every source table, even when it has no rows."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def columns_of(types: dict[str, str]) -> dict[str, dict[str, Any]]:
    """{"col": "text"} -> dlt column hints (all nullable)."""
    return {name: {"data_type": t, "nullable": True} for name, t in types.items()}


def arrow_schema(columns: dict[str, dict[str, Any]]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, ARROW_TYPES[c["data_type"]], c.get("nullable", True)) for name, c in columns.items()]
    )


def to_arrow(rows: list[dict[str, Any]], columns: dict[str, dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=arrow_schema(columns))
