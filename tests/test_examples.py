"""The files offered for a PostgreSQL + Metabase setup (examples/docker-compose.yml): the compose file mounts
what exists, and its init script, run against a real PostgreSQL 15, gives the BI tool's role the marts
(including tables a later dbt run creates) and nothing else. The containers themselves are not run here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg2
import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_compose_file_mounts_the_init_script_it_runs():
    compose = yaml.safe_load((EXAMPLES / "docker-compose.yml").read_text())
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["postgres"]["volumes"]
                  if volume.startswith("./"))
    for host in mounts:
        assert (EXAMPLES / host).is_file(), host
    init = (EXAMPLES / "postgres" / "initdb.sh").read_text()
    assert "/flowmart/metabase_reader.sql" in init and "/flowmart/metabase_reader.sql" in mounts.values()
    assert os.access(EXAMPLES / "postgres" / "initdb.sh", os.X_OK)
    assert {"postgres", "metabase"} <= set(compose["services"])
    # Metabase's published port is not the Dagster UI's (3000, `make dagster`)
    published = [port.rsplit(":", 1)[0].removeprefix("127.0.0.1:") for port in compose["services"]["metabase"]["ports"]]
    assert published == ["${METABASE_PORT:-3001}"]


def test_the_bi_role_reads_the_marts_and_nothing_else(postgres):
    admin = postgres.connect("postgres")
    with admin.cursor() as cur:
        # as in the postgres image, whose POSTGRES_USER (the role dbt builds with) is a superuser
        cur.execute("create role flowmart_owner login superuser password 'owner-pw'")
        cur.execute("create database bi_check owner flowmart_owner")
    admin.close()
    try:
        # the init script, as the postgres image's entrypoint runs it (psql, as the role dbt builds with)
        psql = subprocess.run([str(postgres.bin_dir / "psql"), "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                               "-p", str(postgres.port), "-U", "flowmart_owner", "-d", "bi_check",
                               "-v", "reader_password=reader-pw",
                               "-f", str(EXAMPLES / "postgres" / "metabase_reader.sql")],
                              capture_output=True, text=True, env={**os.environ, "PGPASSWORD": "owner-pw"})
        assert psql.returncode == 0, psql.stderr
        owner = postgres.connect("bi_check", "flowmart_owner", "owner-pw")
        with owner.cursor() as cur:  # what dbt builds after the script ran
            cur.execute("create schema raw_jira")
            cur.execute("create table raw_jira.issues as select 'person-1' as assignee")
            cur.execute("create schema intermediate")
            cur.execute("create table intermediate.int_work_items_owned as select 1 as issue_id")
            cur.execute("create table marts.flow_metrics_by_team as select 'team-a' as team, 3 as velocity")
            cur.execute("create view marts.latest as select team from marts.flow_metrics_by_team")
        owner.close()

        reader = postgres.connect("bi_check", "metabase_reader", "reader-pw")
        with reader.cursor() as cur:
            cur.execute("select team, velocity from marts.flow_metrics_by_team")
            assert cur.fetchall() == [("team-a", 3)]
            cur.execute("select team from marts.latest")
            assert cur.fetchall() == [("team-a",)]
            for denied in ("select * from raw_jira.issues", "select * from intermediate.int_work_items_owned",
                           "create table marts.mine (x int)", "delete from marts.flow_metrics_by_team"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(denied)
        reader.close()
    finally:
        admin = postgres.connect("postgres")
        with admin.cursor() as cur:
            cur.execute("drop database if exists bi_check")
            cur.execute("drop role if exists metabase_reader")
            cur.execute("drop role if exists flowmart_owner")
        admin.close()
