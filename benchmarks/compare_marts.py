"""Compare every mart table of two DuckDB warehouses built from the same raw tables with the same clock: the
tables and their columns, the row counts, and every row (all columns; doubles rounded to 6 significant
digits), as multisets. Exits 1 when anything differs.

    .venv/bin/python -m benchmarks.compare_marts BEFORE.duckdb AFTER.duckdb [--schema marts]

To check that a model change leaves the figures alone: build twice from one loaded warehouse (e.g. the
harness's `loaded-*.duckdb`, FLOWMART_NOW pinned), once on each version, and compare.
"""

from __future__ import annotations

import argparse
import sys

import duckdb


def _columns(conn: duckdb.DuckDBPyConnection, db: str, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute("select column_name, data_type from duckdb_columns() where database_name = ? and "
                        "schema_name = ? and table_name = ? order by column_index", [db, schema, table]).fetchall()


def _projection(columns: list[tuple[str, str]]) -> str:
    out = []
    for name, kind in columns:
        col = f'"{name}"'
        if kind in ("DOUBLE", "FLOAT", "REAL") or kind.startswith("DECIMAL"):
            col = (f"case when {col} is null or {col} = 0 or isinf({col}) or isnan({col}) then cast({col} as double) "
                   f"else round(cast({col} as double), 5 - cast(floor(log10(abs({col}))) as integer)) end")
        out.append(f'{col} as "{name}"')
    return ", ".join(out)


def compare(before: str, after: str, schema: str = "marts") -> list[str]:
    """Differences between the two warehouses' tables of `schema` (empty: identical); prints one line a table."""
    conn = duckdb.connect()
    conn.execute(f"attach '{before}' as before (read_only)")
    conn.execute(f"attach '{after}' as after (read_only)")
    listing = "select table_name from duckdb_tables() where database_name = ? and schema_name = ?"
    tables = {db: {t for (t,) in conn.execute(listing, [db, schema]).fetchall()} for db in ("before", "after")}
    problems = [f"{t}: only before" for t in sorted(tables["before"] - tables["after"])]
    problems += [f"{t}: only after" for t in sorted(tables["after"] - tables["before"])]
    for table in sorted(tables["before"] & tables["after"]):
        cols = _columns(conn, "before", schema, table)
        if cols != _columns(conn, "after", schema, table):
            problems.append(f"{table}: columns differ")
            continue
        counts = [conn.execute(f'select count(*) from {db}."{schema}"."{table}"').fetchone()[0]
                  for db in ("before", "after")]
        projection = _projection(cols)
        differing = [conn.execute(f'select count(*) from (select {projection} from {a}."{schema}"."{table}" except all '
                                  f'select {projection} from {b}."{schema}"."{table}")').fetchone()[0]
                     for a, b in (("before", "after"), ("after", "before"))]
        same = counts[0] == counts[1] and differing == [0, 0]
        print(f"{table:<48} {counts[0]:>10,} rows  {len(cols):>3} columns  "
              + ("identical" if same else f"DIFFERENT: {counts[1]:,} rows after; {differing[0]:,} rows only before, "
                                          f"{differing[1]:,} only after"))
        if not same:
            problems.append(f"{table}: {differing[0]} rows only before, {differing[1]} only after")
    conn.close()
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--schema", default="marts")
    args = parser.parse_args()
    problems = compare(args.before, args.after, args.schema)
    if problems:
        print("\n".join(["DIFFERENT:", *problems]), file=sys.stderr)
        sys.exit(1)
    print(f"every table of {args.schema} identical")


if __name__ == "__main__":
    main()
