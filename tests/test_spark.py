"""The whole project on Apache Spark (dbt-spark in session mode, pyspark from PyPI, Java 17).

`flowmart run --target spark` loads the sample organisation at scale 1 (every source, over the local API server)
into the lake as Parquet and builds and tests every model on Spark; every mart then equals a DuckDB build of the
same raw rows, row for row (numbers to 6 significant digits). Both runs happen in a time zone far from UTC: every
instant must still be UTC on both targets.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

FLOWMART = str(Path(sys.executable).parent / "flowmart")
ANCHOR = date(2026, 11, 21)
NOW = f"{ANCHOR + timedelta(days=1):%Y-%m-%d} 00:00:00"
FAR_FROM_UTC = "America/Los_Angeles"

pytestmark = pytest.mark.slow


def _flowmart(tmp: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "FLOWMART_"))}
    environment |= {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "TZ": FAR_FROM_UTC,
                    "FLOWMART_NOW": NOW, "FLOWMART__PSEUDONYM_SALT": "flowmart-test-salt"} | env
    return subprocess.run([FLOWMART, *args], cwd=tmp, env=environment, capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample run on Spark, and the same raw rows (the Spark target's landing file) built on DuckDB."""
    tmp = tmp_path_factory.mktemp("spark")
    spark_env = {"FLOWMART_DUCKDB_PATH": str(tmp / "warehouse" / "flowmart.duckdb")}
    started = time.monotonic()
    run = _flowmart(tmp, "run", "--sample", "--scale", "1", "--anchor", f"{ANCHOR}", "--target", "spark",
                    env=spark_env)
    spark_seconds = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    spark_dir = tmp / "warehouse" / "spark"
    duck = tmp / "duckdb" / "flowmart.duckdb"
    duck.parent.mkdir()
    shutil.copy(spark_dir / "landing.duckdb", duck)
    build = _flowmart(tmp, "build", "--target", "duckdb", env={"FLOWMART_DUCKDB_PATH": str(duck)})
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    print(f"spark run (load, publish, build, summary, report): {spark_seconds:.0f} s")
    return {"tmp": tmp, "run": run, "build": build, "spark_dir": spark_dir, "duck": duck}


@pytest.fixture(scope="module")
def spark(builds: dict[str, Any]):
    """This process's Spark session over the run's metastore (the run's process has ended)."""
    os.environ["TZ"] = "UTC"  # pyspark hands timestamps to Python in the process's local time
    time.tzset()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOWMART_SPARK_DIR", str(builds["spark_dir"]))
        mp.delenv("FLOWMART_LAKE_URL", raising=False)
        from pipelines.spark import session

        yield session()


def _value(value: Any) -> Any:
    """A comparable value: numbers as floats, instants as naive UTC."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _sort_key(row: tuple) -> tuple:
    return tuple((v is None, f"{v:.6g}" if isinstance(v, float) else str(v)) for v in row)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


def _marts(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [t for (t,) in conn.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]


def test_the_spark_run_builds_and_tests_every_model_and_summarises(builds):
    out = builds["run"].stdout
    spark_line = out.split("\ndbt: ")[1].splitlines()[0]
    duckdb_line = builds["build"].stdout.split("dbt: ")[1].splitlines()[0]

    def counts(line: str) -> list[int]:  # models built, tests passed, warned, failed
        return [int(n) for n in re.findall(r"(\d+) (?:models built|tests passed|warned|failed)", line)]

    # every model and every data test of the DuckDB build, none failed
    assert counts(spark_line) == counts(duckdb_line) and counts(spark_line)[3] == 0, (spark_line, duckdb_line)
    assert "Delivery (" in out and "Outcomes (" in out and "Sentiment (" in out, out
    report = Path(out.split("Report: ")[1].splitlines()[0])
    assert report.stat().st_size > 1_000_000


def test_every_mart_on_spark_equals_the_duckdb_build_row_for_row(builds, spark):
    conn = duckdb.connect(str(builds["duck"]), read_only=True)
    conn.execute("set TimeZone = 'UTC'")
    marts = _marts(conn)
    assert len(marts) >= 30, marts
    spark_marts = {t.name for t in spark.catalog.listTables("marts")}
    assert set(marts) <= spark_marts, set(marts) - spark_marts
    differences = []
    for mart in marts:
        result = conn.execute(f'select * from marts."{mart}"')
        columns = [d[0] for d in result.description]
        duck_rows = sorted((tuple(_value(v) for v in row) for row in result.fetchall()), key=_sort_key)
        frame = spark.sql(f"select {', '.join(f'`{c}`' for c in columns)} from marts.{mart}")
        spark_rows = sorted((tuple(_value(v) for v in row) for row in frame.collect()), key=_sort_key)
        if len(duck_rows) != len(spark_rows):
            differences.append(f"{mart}: {len(duck_rows)} rows on DuckDB, {len(spark_rows)} on Spark")
            continue
        for d, s in zip(duck_rows, spark_rows, strict=True):
            unequal = [(c, x, y) for c, x, y in zip(columns, d, s, strict=True) if not _same(x, y)]
            if unequal:
                differences.append(f"{mart}: {unequal[:3]}")
                break
    conn.close()
    assert not differences, "\n".join(differences)


def test_spark_marts_have_the_duckdb_columns_and_instants_in_utc(builds, spark):
    conn = duckdb.connect(str(builds["duck"]), read_only=True)
    try:
        for mart in _marts(conn):
            duck_columns = [c for (c,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? order by ordinal_position", [mart]).fetchall()]
            # the same names (DuckDB orders a contracted mart's columns as its YAML does, Spark as its SQL does)
            assert sorted(c.name for c in spark.catalog.listColumns(f"marts.{mart}")) == sorted(duck_columns), mart
    finally:
        conn.close()
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    # the run's process sat in Los Angeles: an instant of the sample still reads as its UTC wall time
    first = spark.sql("select min(created_at) from staging.stg_jira__issues").collect()[0][0]
    raw = duckdb.connect(str(builds["spark_dir"] / "landing.duckdb"), read_only=True)
    raw.execute("set TimeZone = 'UTC'")
    expected = raw.execute("select min(created) from raw_jira.issues").fetchone()[0]
    raw.close()
    assert _value(first) == _value(expected)


def test_the_raw_tables_are_parquet_in_the_lake_registered_as_spark_tables(builds, spark):
    lake = builds["spark_dir"] / "lake"
    assert list((lake / "raw_jira" / "issues").glob("*.parquet"))
    location = [r for r in spark.sql("describe table extended raw_jira.issues").collect() if r[0] == "Location"]
    assert location and str(lake / "raw_jira" / "issues") in location[0][1]
    provider = [r for r in spark.sql("describe table extended raw_jira.issues").collect() if r[0] == "Provider"]
    assert provider[0][1] == "parquet"
