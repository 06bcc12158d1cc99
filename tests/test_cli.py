"""The `flowmart` command on real sites, as a user runs it (a child process against the local API server): an
explicit configuration is never replaced by the sample, a missing setting is named before anything is
loaded, errors are one message (`--debug` shows the traceback), and `flowmart init` writes an org config
with which the first `flowmart run` succeeds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

FLOWMART = str(Path(sys.executable).with_name("flowmart"))
ROOT = Path(__file__).resolve().parent.parent


def _flowmart(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([FLOWMART, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=900)


def _no_source_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SOURCES__")]:
        monkeypatch.delenv(name)


def _sample_issues(sample: Path) -> list[dict]:
    with (sample / "jira" / "issues.jsonl").open() as f:
        return [json.loads(line) for line in f]


def test_jira_settings_without_an_org_config_stop_before_anything_is_loaded(api_server, warehouse):
    for command in (["load", "jira"], ["run"]):
        result = _flowmart(warehouse.parent.parent, *command)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "sample" not in result.stdout
        message = result.stderr.strip()
        assert message.startswith("flowmart: SOURCES__JIRA__BASE_URL, SOURCES__JIRA__EMAIL, "
                                  "SOURCES__JIRA__API_TOKEN, SOURCES__GITHUB__ACCESS_TOKEN, "
                                  "SOURCES__GITHUB__BASE_URL set, but there is no org config"), message
        assert "`flowmart init`" in message and "--org-config" in message and "Traceback" not in message
    assert not warehouse.parent.exists(), "the warehouse folder was not even created"
    assert api_server.request_log == [], "no request went to the configured site"


def test_an_org_config_with_a_missing_setting_names_it_and_leaves_the_warehouse_alone(small_sample, warehouse,
                                                                                      monkeypatch):
    _no_source_settings(monkeypatch)
    monkeypatch.setenv("SOURCES__JIRA__BASE_URL", "https://acme.atlassian.net")
    config = shutil.copy(small_sample / "org.yml", warehouse.parent.parent / "acme.yml")
    result = _flowmart(warehouse.parent.parent, "run", "--org-config", "acme.yml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "flowmart: the configuration is incomplete, nothing was loaded:",
        "  jira: missing SOURCES__JIRA__EMAIL (or email under [sources.jira] in .dlt/secrets.toml)",
        "  jira: missing SOURCES__JIRA__API_TOKEN (or api_token under [sources.jira] in .dlt/secrets.toml)",
        "  github: missing SOURCES__GITHUB__ACCESS_TOKEN (or access_token under [sources.github] in "
        ".dlt/secrets.toml)",
    ]
    assert "sample" not in result.stdout
    assert not warehouse.parent.exists()
    # the same for one source: its settings are named, those of the others do not matter
    result = _flowmart(warehouse.parent.parent, "load", "github", "--org-config", str(config))
    assert result.returncode == 2 and "github: missing SOURCES__GITHUB__ACCESS_TOKEN" in result.stderr
    assert "jira" not in result.stderr and not warehouse.parent.exists()


def test_an_org_config_that_configures_no_source_is_an_error_not_the_sample(warehouse, monkeypatch):
    _no_source_settings(monkeypatch)
    (warehouse.parent.parent / "flowmart.yml").write_text(
        "value_streams: [{name: Payments}]\nteams: [{name: checkout, value_stream: Payments}]\n", encoding="utf-8")
    result = _flowmart(warehouse.parent.parent, "run")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no source is configured" in result.stderr and "flowmart.yml sets none" in result.stderr
    assert not warehouse.parent.exists()


def test_sample_flag_uses_the_sample_whatever_is_configured(warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__JIRA__BASE_URL", "https://acme.atlassian.net")  # incomplete, and ignored
    result = _flowmart(warehouse.parent.parent, "load", "org", "--sample", "--scale", "0.05")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("flowmart: no source configured, running on the built-in sample organisation")
    conn = duckdb.connect(str(warehouse), read_only=True)
    assert conn.execute("select count(*) from raw_org.teams").fetchone()[0] == 8
    conn.close()


def test_a_configured_site_is_loaded_not_the_sample(small_sample, api_server, warehouse):
    result = _flowmart(warehouse.parent.parent, "load", "jira", "--org-config", str(small_sample / "org.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"flowmart: loading org, jira as configured in {small_sample / 'org.yml'}")
    assert api_server.requests_matching(r"/rest/api/3/search/jql"), "the configured site answered the load"
    conn = duckdb.connect(str(warehouse), read_only=True)
    assert conn.execute("select count(*) from raw_jira.issues").fetchone()[0] == len(_sample_issues(small_sample))
    conn.close()


def test_a_401_is_one_message_and_debug_shows_the_traceback(small_sample, api_server, warehouse):
    api_server.faults.add(r"/rest/api/3/", "401", times=-1)
    config = str(small_sample / "org.yml")
    result = _flowmart(warehouse.parent.parent, "load", "jira", "--org-config", config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("flowmart: GET ") and "/rest/api/3/field was refused (HTTP 401" in last, last
    assert "check the e-mail and the API token" in last and last.endswith("(--debug shows the traceback)")
    debug = _flowmart(warehouse.parent.parent, "load", "jira", "--org-config", config, "--debug")
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


def test_a_project_key_read_as_a_boolean_is_one_message(warehouse, monkeypatch):
    _no_source_settings(monkeypatch)
    (warehouse.parent.parent / "flowmart.yml").write_text(
        "value_streams: [{name: Payments}]\nteams: [{name: checkout, value_stream: Payments}]\n"
        "ownership: {jira: [{project: NO, team: checkout}]}\n", encoding="utf-8")
    result = _flowmart(warehouse.parent.parent, "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'YAML read NO (line 3) as booleans: quote a value meant as text, e.g. project: "NO"' in result.stderr


def test_init_without_jira_writes_the_example_to_edit(warehouse, monkeypatch):
    _no_source_settings(monkeypatch)
    result = _flowmart(warehouse.parent.parent, "init")
    assert result.returncode == 0, result.stdout + result.stderr
    written = warehouse.parent.parent / "flowmart.yml"
    assert written.read_text() == (ROOT / "flowmart.example.yml").read_text()
    again = _flowmart(warehouse.parent.parent, "init")
    assert again.returncode == 2 and "exists; --force overwrites it" in again.stderr


def test_init_with_jira_configured_in_part_names_what_is_missing_and_writes_nothing(warehouse, monkeypatch):
    _no_source_settings(monkeypatch)
    monkeypatch.setenv("SOURCES__JIRA__BASE_URL", "https://acme.atlassian.net")
    result = _flowmart(warehouse.parent.parent, "init")
    assert result.returncode == 2
    assert result.stderr.startswith("flowmart: Jira is configured in part: SOURCES__JIRA__EMAIL, "
                                    "SOURCES__JIRA__API_TOKEN missing")
    assert not (warehouse.parent.parent / "flowmart.yml").exists()


@pytest.mark.slow
def test_init_fills_the_config_from_the_site_and_the_first_run_succeeds_unchanged(small_sample, api_server,
                                                                                 warehouse, monkeypatch):
    for name in ("SOURCES__GITHUB__BASE_URL", "SOURCES__GITHUB__ACCESS_TOKEN"):
        monkeypatch.delenv(name)  # Jira only: GitHub would need its repositories too
    folder = warehouse.parent.parent
    result = _flowmart(folder, "init")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (folder / "flowmart.yml").read_text()
    config = yaml.safe_load(text)
    issues = _sample_issues(small_sample)
    projects = {i["fields"]["project"]["key"]: i["fields"]["project"]["name"] for i in issues}
    assert config["ownership"]["jira"] == [{"project": k, "team": projects[k]} for k in sorted(projects)]
    assert {t["name"] for t in config["teams"]} == set(projects.values())
    catalogue = json.loads((small_sample / "jira" / "statuses.json").read_text())
    state = {"new": "backlog", "indeterminate": "active", "done": "done"}
    assert config["jira"]["status_mapping"] == {"*": {s["name"]: state[s["statusCategory"]["key"]]
                                                      for s in catalogue}}
    assert "      Awaiting Customer: active          # review (category In Progress)" in text.splitlines()
    assert config["jira"]["fields"]["team"] == "Team" and config["jira"]["fields"]["key_result"] == "Key result"
    assert not {"github", "git", "surveys", "delivery", "okrs"} & set(config)

    run = _flowmart(folder, "run")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.startswith(f"flowmart: loading org, jira as configured in {folder / 'flowmart.yml'}")
    assert " 0 warned, 0 failed" in run.stdout  # every status mapped, every test passed
    conn = duckdb.connect(str(warehouse), read_only=True)
    assert conn.execute("select count(*) from raw_jira.issues").fetchone()[0] == len(issues)
    teams = conn.execute("select count(distinct team) from marts.completed_work_items").fetchone()[0]
    conn.close()
    assert teams == len(projects)


def _survey_config(folder: Path) -> Path:
    """An org config whose survey folder holds one good export and one file that is no workbook."""
    (folder / "surveys").mkdir()
    (folder / "surveys" / "devex-2025-Q3.csv").write_text("respondent,team,focus\nann@acme.example,alpha,4\n")
    (folder / "surveys" / "broken-2025-Q3.xlsx").write_bytes(b"not a workbook")
    config = folder / "flowmart.yml"
    config.write_text(yaml.safe_dump({
        "value_streams": [{"name": "Core"}],
        "teams": [{"name": "alpha", "value_stream": "Core"}],
        "surveys": {"folder": "surveys", "questions": [
            {"id": "focus", "text": "I have enough time for focused work.", "dimension": "deep_work"}]},
    }))
    return config


def _responses(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("select count(*) from raw_survey.responses").fetchone()[0]


def test_a_skipped_input_is_named_and_load_exits_3_while_the_rest_lands(warehouse, monkeypatch):
    _no_source_settings(monkeypatch)
    monkeypatch.setenv("FLOWMART__PSEUDONYM_SALT", "cli-test-salt")
    config = _survey_config(warehouse.parent.parent)
    result = _flowmart(warehouse.parent.parent, "load", "survey", "--org-config", str(config))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "SKIPPED: survey: survey file broken-2025-Q3.xlsx: not a readable XLSX workbook" in result.stderr
    assert _responses(warehouse) == 1


def test_a_run_that_skipped_an_input_says_so_in_its_summary_and_exits_3(warehouse, monkeypatch, capsys):
    from orchestration import cli, runner

    _no_source_settings(monkeypatch)
    monkeypatch.setenv("FLOWMART__PSEUDONYM_SALT", "cli-test-salt")
    config = _survey_config(warehouse.parent.parent)
    built = {"models": 1, "tests_passed": 1, "tests_warned": 0, "tests_failed": 0, "errors": 0, "success": 1}
    monkeypatch.setattr(runner, "dbt_build", lambda *args, **kwargs: built)  # dbt is not this test's business

    with pytest.raises(SystemExit) as exit_code:
        cli.main(["run", "--org-config", str(config), "--sources", "survey"])

    out = capsys.readouterr()
    assert exit_code.value.code == 3, out.out + out.err
    assert "Skipped, the rest landed (1; exit code 3 unless something failed):" in out.out
    assert "survey: survey file broken-2025-Q3.xlsx: not a readable XLSX workbook" in out.out
    assert "SKIPPED: survey: survey file broken-2025-Q3.xlsx" in out.err
    assert _responses(warehouse) == 1

    (warehouse.parent.parent / "surveys" / "broken-2025-Q3.xlsx").unlink()
    with pytest.raises(SystemExit) as exit_code:
        cli.main(["run", "--org-config", str(config), "--sources", "survey"])
    assert exit_code.value.code == 0


def test_a_misspelled_github_repository_is_skipped_and_load_exits_3(small_sample, api_server, warehouse, monkeypatch):
    monkeypatch.setenv("FLOWMART__PSEUDONYM_SALT", "cli-test-salt")
    monkeypatch.setenv("SOURCES__GITHUB__REPOSITORIES", "acme/ledger,acme/ledgre")
    result = _flowmart(warehouse.parent.parent, "-v", "load", "github", "--org-config",
                       str(small_sample / "org.yml"))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "SKIPPED: github: github repository acme/ledgre: skipped (GraphQL NOT_FOUND" in result.stderr
    assert api_server.github_usage["graphql_points"] > 0
    assert "PRs per rate-limit hour" in (warehouse.parent / "logs" / "flowmart.log").read_text()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select count(distinct repository) from raw_github.pull_requests").fetchone() == (1,)
