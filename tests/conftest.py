"""Shared fixtures: a small deterministic sample organisation, its local API server, an isolated
warehouse per test, and a throwaway PostgreSQL server for the session."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from pipelines.sample.generate import generate_sample
from pipelines.sample.server import SampleApiServer

ANCHOR = date(2026, 10, 1)

# Fast, deterministic settings for every test (real retries, short back-offs).
os.environ.setdefault("FLOWMART_HTTP_BACKOFF", "0.05")
os.environ.setdefault("FLOWMART_HTTP_MAX_ATTEMPTS", "4")
os.environ.setdefault("FLOWMART_HTTP_MAX_DELAY", "5")
os.environ["FLOWMART__PSEUDONYM_SALT"] = "flowmart-test-salt"
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample organisation at scale 0.05 (~800 issues, 8 teams, 24 months), anchored on 2026-10-01."""
    folder = tmp_path_factory.mktemp("sample")
    generate_sample(folder, scale=0.05, anchor=ANCHOR)
    return folder


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DuckDB warehouse of this test; the working directory is the test's folder."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "warehouse" / "flowmart.duckdb"
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(path))
    monkeypatch.setenv("FLOWMART_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("FLOWMART_TARGET", "duckdb")
    return path


@pytest.fixture
def api_server(small_sample: Path, monkeypatch: pytest.MonkeyPatch):
    """The local API server over the small sample (fresh state per test), with the loaders pointed at it."""
    with SampleApiServer(small_sample) as server:
        monkeypatch.setenv("SOURCES__JIRA__BASE_URL", server.url)
        monkeypatch.setenv("SOURCES__JIRA__EMAIL", "tester@acme.example")
        monkeypatch.setenv("SOURCES__JIRA__API_TOKEN", "token")
        monkeypatch.setenv("SOURCES__GITHUB__BASE_URL", server.url)
        monkeypatch.setenv("SOURCES__GITHUB__ACCESS_TOKEN", "token")
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (installed from Debian packages if absent)."""
    from tests.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def all_text_values(duckdb_file: Path) -> list[str]:
    """Every non-null text value of every table in the DuckDB file (for privacy scans)."""
    import duckdb

    conn = duckdb.connect(str(duckdb_file), read_only=True)
    try:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR' or data_type like 'VARCHAR%' or data_type = 'JSON'"
        ).fetchall()
        values: list[str] = []
        for schema, table, column in columns:
            rows = conn.execute(f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null')
            values += [str(r[0]) for r in rows.fetchall()]
        return values
    finally:
        conn.close()


def build_sample_marts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str,
                       select: list[str], scale: float = 0.25) -> dict[str, str]:
    """The sample at `scale` (org config and tracker loaded over HTTP from its local API) in a fresh warehouse of
    the fixture's target (`request.param`: duckdb, or postgres in its own database), `select` built by dbt (unit
    tests left out: CI runs them) with the clock at the sample's last day; returns the environment that points
    at that warehouse (for `query_marts`)."""
    import json

    from dbt.cli.main import dbtRunner

    from pipelines import jira, org
    from pipelines.orgconfig import load_org_config
    from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT

    target = request.param
    tmp = tmp_path_factory.mktemp(f"{name}-{target}")
    sample = tmp / "sample"
    generate_sample(sample, scale=scale, anchor=ANCHOR)
    env = {"FLOWMART_TARGET": target, "FLOWMART_DUCKDB_PATH": str(tmp / "warehouse.duckdb"),
           "FLOWMART_PIPELINES_DIR": str(tmp / "pipelines")}
    if target == "postgres":
        server = request.getfixturevalue("postgres")
        admin = server.connect("postgres")
        with admin.cursor() as cur:
            cur.execute(f"create database {name}")  # its own database: other tests load other samples
        admin.close()
        env |= server.env() | {"FLOWMART_PG_DBNAME": name}
    config = load_org_config(sample / "org.yml")
    with pytest.MonkeyPatch.context() as mp, SampleApiServer(sample) as api:
        mp.chdir(tmp)
        for key, value in env.items():
            mp.setenv(key, value)
        mp.setenv("SOURCES__JIRA__BASE_URL", api.url)
        mp.setenv("SOURCES__JIRA__EMAIL", "tester@acme.example")
        mp.setenv("SOURCES__JIRA__API_TOKEN", "token")
        org.load(config, sample)
        jira.load(config, sample)
        result = dbtRunner().invoke([
            "build", "--select", *select, "--indirect-selection", "cautious", "--exclude-resource-type", "unit_test",
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROJECT_ROOT), "--target", target,
            "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), "--quiet",
            "--vars", json.dumps({"flowmart_now": f"{ANCHOR:%Y-%m-%d} 00:00:00"}),
        ])
    assert result.success, result.exception or [(r.node.name, r.message) for r in result.result
                                                 if r.status not in ("success", "pass")]
    return env


def query_marts(env: dict[str, str], sql: str) -> list[tuple]:
    """Rows of a query on the warehouse `build_sample_marts` returned."""
    from orchestration.warehouse import Warehouse

    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        with Warehouse(env["FLOWMART_TARGET"]) as wh:
            return wh.rows(sql)
