"""The delivery-events loader against real CSV and JSON-lines files, loading into a real DuckDB file."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines import delivery
from pipelines.orgconfig import parse_org_config
from pipelines.privacy import Pseudonymiser
from pipelines.sample.world import build_world

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = PROJECT_ROOT / "examples"
HEADER = ("kind,id,service,environment,repository,sha,ref,status,started_at,finished_at,resolved_at,severity,"
          "caused_by_deployment,source")
PERSON = build_world(seed=3).people[0]


def query(sql: str, *params):
    with duckdb.connect(os.environ["FLOWMART_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


@pytest.fixture(autouse=True)
def warehouse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("FLOWMART_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("FLOWMART__PSEUDONYM_SALT", "test-salt")
    monkeypatch.delenv("SOURCES__DELIVERY__FILES", raising=False)
    return tmp_path / "wh.duckdb"


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_files(*paths: Path) -> dict[str, int]:
    return delivery.run_load([(p, p.name) for p in paths])


def test_the_documented_examples_load_without_quarantine(monkeypatch):
    monkeypatch.setenv("SOURCES__DELIVERY__FILES",
                       json.dumps([str(EXAMPLES / "delivery-events.example.csv"),
                                   str(EXAMPLES / "delivery-events.example.jsonl")]))
    counts = delivery.load(parse_org_config({"value_streams": [{"name": "P"}],
                                             "teams": [{"name": "t", "value_stream": "P"}]}), PROJECT_ROOT)
    assert counts == {"deployments": 7, "incidents": 4, "quarantine": 0}
    assert query("select count(*) from raw_delivery.quarantine") == [(0,)]
    assert query("select status, started_at, finished_at from raw_delivery.deployments "
                 "where deployment_id = 'jenkins-payments-api-1041'") == [
        ("success", datetime(2024, 3, 4, 8, 12, tzinfo=UTC), datetime(2024, 3, 4, 8, 20, 41, tzinfo=UTC))]
    assert query("select status from raw_delivery.deployments where deployment_id = 'argo-checkout-web-88'") == [
        ("success",)]  # "Succeeded" is a documented synonym
    assert query("select caused_by_deployment_id, severity, environment, resolved_at from raw_delivery.incidents "
                 "where incident_id = 'PD-7802'") == [
        ("argo-checkout-web-89", "SEV1", "production", datetime(2024, 3, 12, 16, 5, tzinfo=UTC))]


def test_bad_rows_are_quarantined_with_file_line_and_reason_and_good_rows_land(tmp_path, capsys):
    csv_file = write(
        tmp_path / "deploys.csv",
        HEADER,
        "deployment,d1,payments-api,production,,abc1234,,success,2024-03-01T10:00:00Z,2024-03-01T10:05:00Z,,,,",
        "deployment,d2,payments-api,production,,abc1234,,UNSTABLE,2024-03-01T11:00:00Z,2024-03-01T11:05:00Z,,,,",
        "deployment,d3,payments-api,production,,abc1234,,success,2024-03-01 12:00:00,2024-03-01T12:05:00Z,,,,",
        "deployment,d4,payments-api,production,,,,success,2024-03-01T13:00:00Z,2024-03-01T12:00:00Z,,,,",
        '"deployment","d5","multi',
        'line service",production,,not-a-sha,,failed,2024-03-01T14:00:00Z,2024-03-01T14:01:00Z,,,,',
        "",
        "incident,i1,payments-api,,,,,,2024-03-02T10:00:00+02:00,,2024-03-02T09:00:00+02:00,SEV1,d1,",
        "rollout,x1,payments-api,production,,abc1234,,success,2024-03-01T10:00:00Z,2024-03-01T10:05:00Z,,,,",
        "incident,i2,payments-api,,,,,,2024-03-02T10:00:00+02:00,,,,,,extra",
        "incident,i3,payments-api,,,,,,2024-03-02T10:00:00+02:00,,2024-03-02T11:00:00+02:00,SEV2,d1,pagerduty",
    )
    counts = load_files(csv_file)
    assert counts == {"deployments": 1, "incidents": 1, "quarantine": 7}
    rows = query("select source_file, source_line, kind, reason from raw_delivery.quarantine order by source_line")
    assert [(f, line, k) for f, line, k, _ in rows] == [
        ("deploys.csv", 3, "deployment"),
        ("deploys.csv", 4, "deployment"),
        ("deploys.csv", 5, "deployment"),
        ("deploys.csv", 6, "deployment"),
        ("deploys.csv", 9, "incident"),
        ("deploys.csv", 10, "rollout"),
        ("deploys.csv", 11, None),
    ]
    reasons = {line: reason for _, line, _, reason in rows}
    assert "status 'unstable' is not one of" in reasons[3]
    assert "started_at has no UTC offset" in reasons[4]
    assert "finished_at is before started_at" in reasons[5] and "sha or ref is required" in reasons[5]
    assert "sha 'not-a-sha' is not a hexadecimal commit id" in reasons[6]  # the row starting on line 6
    assert "resolved_at is before started_at" in reasons[9]
    assert "kind 'rollout' is not one of deployment, incident" in reasons[10]
    assert "has 15 fields, the header has 14" in reasons[11]
    assert query("select deployment_id from raw_delivery.deployments") == [("d1",)]
    assert query("select incident_id, started_at from raw_delivery.incidents") == [
        ("i3", datetime(2024, 3, 2, 8, 0, tzinfo=UTC))]
    raw = query("select raw_row from raw_delivery.quarantine where source_line = 3")[0][0]
    assert json.loads(raw)["status"] == "UNSTABLE"
    out = capsys.readouterr().out
    assert "1 deployments and 1 incidents accepted, 7 quarantined" in out
    assert "deploys.csv:3: status 'unstable'" in out


def test_jsonl_bad_lines_are_quarantined_and_emails_in_raw_rows_are_hashed(tmp_path):
    good = {"kind": "deployment", "id": "a1", "service": "ledger", "environment": "production", "ref": "v1",
            "status": "success", "started_at": "2024-03-01T10:00:00Z", "finished_at": "2024-03-01T10:01:00Z"}
    path = write(
        tmp_path / "events.jsonl",
        json.dumps(good),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps(good | {"id": "a2", "started_at": 1709287200, "deployed_by": PERSON.email}),
        json.dumps({"kind": "incident", "service": "ledger", "started_at": "2024-03-01T10:00:00Z",
                    "severity": "P1", "status": "resolved"}),
        f"{{broken line written by {PERSON.email}",
    )
    counts = load_files(path)
    assert counts == {"deployments": 1, "incidents": 0, "quarantine": 5}
    rows = dict(query("select source_line, reason from raw_delivery.quarantine"))
    assert rows[2].startswith("not valid JSON")
    assert rows[3] == "not a JSON object (got list)"
    assert "started_at must be an ISO 8601 text with a UTC offset" in rows[4]
    assert rows[5] == "status does not belong to an incident"
    raws = [r[0] for r in query("select raw_row from raw_delivery.quarantine")]
    assert not any(PERSON.email in r for r in raws)
    assert any(Pseudonymiser("test-salt")(PERSON.email) in r for r in raws)
    assert json.loads(dict(query("select source_line, raw_row from raw_delivery.quarantine"))[4])[
        "_ignored_columns"] == ["deployed_by"]  # the undocumented column's value is not kept


def test_reloading_never_duplicates_and_a_later_row_updates_the_same_key(tmp_path):
    first = write(
        tmp_path / "a.csv",
        HEADER,
        "deployment,,ledger,production,,,v2,in_progress,2024-03-01T10:00:00Z,,,,,",
        "deployment,b7,ledger,production,,,v3,success,2024-03-02T10:00:00Z,2024-03-02T10:10:00Z,,,,",
        "incident,,ledger,,,,,,2024-03-03T10:00:00Z,,,SEV2,b7,",
    )
    assert load_files(first) == {"deployments": 2, "incidents": 1, "quarantine": 0}
    assert load_files(first) == {"deployments": 2, "incidents": 1, "quarantine": 0}
    assert query("select count(*) from raw_delivery.deployments") == [(2,)]
    assert query("select count(*) from raw_delivery.incidents") == [(1,)]
    (generated_key,) = query("select deployment_id from raw_delivery.deployments where ref = 'v2'")[0]
    assert generated_key.startswith("dep_")
    # the same deployment finishes: same natural key, new status; plus a duplicate record in one load
    second = write(
        tmp_path / "b.csv",
        HEADER,
        "deployment,,ledger,production,,,v2,success,2024-03-01T10:00:00Z,2024-03-01T10:20:00Z,,,,",
        "deployment,b7,ledger,production,,,v3,failure,2024-03-02T10:00:00Z,2024-03-02T10:10:00Z,,,,",
        "deployment,b7,ledger,production,,,v3,rolled_back,2024-03-02T10:00:00Z,2024-03-02T10:30:00Z,,,,",
    )
    assert load_files(second) == {"deployments": 2, "incidents": 0, "quarantine": 0}
    assert sorted(query("select deployment_id, status, source_file, source_line from raw_delivery.deployments")) \
        == sorted([(generated_key, "success", "b.csv", 2), ("b7", "rolled_back", "b.csv", 4)])


def test_the_quarantine_shows_the_latest_load_only(tmp_path):
    path = write(tmp_path / "a.csv", HEADER, "incident,,ledger,,,,,,yesterday,,,SEV2,,")
    assert load_files(path)["quarantine"] == 1
    write(path, HEADER, "incident,,ledger,,,,,,2024-03-03T10:00:00Z,,,SEV2,,")
    assert load_files(path) == {"deployments": 0, "incidents": 1, "quarantine": 0}
    assert query("select count(*) from raw_delivery.quarantine") == [(0,)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "file not found"),
        ("binary.csv", b"kind,service\n\xff\xfe\x00oops\n", "not UTF-8"),
        ("binary.jsonl", b'{"kind": "incident"}\n\xff\n', "not UTF-8 text at line 2"),
        ("other.csv", b"name,value\nx,1\n", r"header \(line 1\) lacks kind, service"),
        ("twice.csv", b"kind,service,Service\n", "names a column twice"),
        ("events.xlsx", b"PK\x03\x04", r"unknown file type '\.xlsx'"),
    ],
)
def test_a_file_unreadable_as_a_whole_fails_loudly_and_lands_nothing(tmp_path, name, content, message):
    good = write(tmp_path / "good.csv", HEADER, "incident,,ledger,,,,,,2024-03-03T10:00:00Z,,,SEV2,,")
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(delivery.DeliveryFileError, match=message) as err:
        load_files(good, path)
    assert name in str(err.value)
    assert not (tmp_path / "wh.duckdb").exists()


def test_files_from_env_accept_comma_separated_paths_and_globs(tmp_path, monkeypatch):
    (tmp_path / "exports").mkdir()
    for day in (1, 2):
        write(tmp_path / "exports" / f"deploys-{day}.csv", HEADER,
              f"deployment,,ledger,production,,,v{day},success,2024-03-0{day}T10:00:00Z,2024-03-0{day}T10:01:00Z,,,,")
    write(tmp_path / "incidents.jsonl", json.dumps({"kind": "incident", "service": "ledger", "severity": "P3",
                                                    "started_at": "2024-03-05T10:00:00Z"}))
    monkeypatch.setenv("SOURCES__DELIVERY__FILES", "exports/deploys-*.csv, incidents.jsonl")
    files = delivery.configured_files(None, None)
    assert [label for _, label in files] == ["exports/deploys-1.csv", "exports/deploys-2.csv", "incidents.jsonl"]
    assert delivery.run_load(files) == {"deployments": 2, "incidents": 1, "quarantine": 0}


def test_no_name_or_email_reaches_any_table(tmp_path, warehouse):
    people = build_world(seed=3).people[:3]
    lines = [HEADER]
    for i, person in enumerate(people):
        lines.append(f"deployment,,svc,production,,,v{i},success,2024-03-0{i + 1}T10:00:00Z,"
                     f"2024-03-0{i + 1}T10:01:00Z,,,,")
        lines.append(f"incident,,svc,,,,,,bad-{person.email},,,SEV2,,")
    path = write(tmp_path / "mixed.csv", *lines)
    jsonl = write(tmp_path / "mixed.jsonl",
                  *[json.dumps({"kind": "deployment", "service": "svc", "deployed_by": p.display_name,
                                "owner": p.email}) for p in people])
    load_files(path, jsonl)
    needles = {p.email.lower() for p in people} | {p.display_name.lower() for p in people}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                              "where data_type = 'VARCHAR'").fetchall()
        assert {t for _, t, _ in columns} >= {"deployments", "incidents", "quarantine"}
        for schema, table, column in columns:
            for (value,) in con.execute(f'select distinct "{column}" from "{schema}"."{table}"').fetchall():
                leaked = [n for n in needles if n in str(value).lower()]
                assert not leaked, f"{schema}.{table}.{column} holds {leaked}"
        assert con.execute("select count(*) from raw_delivery.quarantine").fetchall() == [(6,)]


def test_the_source_reads_files_when_it_runs_not_when_it_is_built(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__DELIVERY__FILES", "exports/later.csv")
    source = delivery.source_from_org(None, None)  # what Dagster does when definitions load
    assert set(source.resources) == {"deployments", "incidents", "quarantine"}
    (tmp_path / "exports").mkdir()
    write(tmp_path / "exports" / "later.csv", HEADER, "incident,,ledger,,,,,,2024-03-03T10:00:00Z,,,SEV2,,")
    delivery.make_pipeline("delivery").run(source)
    assert query("select count(*) from raw_delivery.incidents") == [(1,)]
    with pytest.raises(Exception, match=r"missing\.csv: file not found"):
        delivery.make_pipeline("delivery").run(delivery.delivery_source([(tmp_path / "missing.csv", "missing.csv")]))
