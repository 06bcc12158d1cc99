"""The org config: the documented example and the sample's config validate; errors name the file, the
entry and the bad value; the config lands as flat tables."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.orgconfig import OrgConfigError, load_org_config, org_config_rows

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "flowmart.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _minimal() -> dict:
    return {
        "value_streams": [{"name": "Payments", "owner": "VP Payments"}],
        "teams": [{"name": "checkout", "value_stream": "Payments", "topology": "stream-aligned",
                   "members": ["ada@acme.example", "5b10abc"]}],
        "ownership": {"jira": [{"project": "CHK", "team": "checkout"}]},
    }


def test_the_documented_example_is_valid():
    config = load_org_config(ROOT / "flowmart.example.yml")
    assert config.value_streams and config.teams and config.surveys.questions
    assert config.jira_scope_jql().startswith("project in (")


def test_the_sample_config_is_valid(small_sample):
    config = load_org_config(small_sample / "org.yml")
    assert len(config.teams) == 8 and len(config.value_streams) == 3
    topologies = {t.topology for t in config.teams}
    assert {"stream-aligned", "platform", "enabling", "complicated-subsystem"} <= topologies


def test_an_unknown_value_stream_names_file_entry_and_value(tmp_path):
    data = _minimal()
    data["teams"][0]["value_stream"] = "Paymnets"
    path = _write(tmp_path, data)
    with pytest.raises(OrgConfigError) as err:
        load_org_config(path)
    message = str(err.value)
    assert str(path) in message and "teams[0] (checkout)" in message and "'Paymnets'" in message


def test_a_bad_enum_value_names_the_entry_and_the_value(tmp_path):
    data = _minimal()
    data["teams"][0]["topology"] = "feature-team"
    with pytest.raises(OrgConfigError) as err:
        load_org_config(_write(tmp_path, data))
    assert "teams[0] (checkout).topology" in str(err.value) and "'feature-team'" in str(err.value)


def test_a_bad_status_mapping_and_a_bad_regex_are_rejected(tmp_path):
    data = _minimal() | {"jira": {"status_mapping": {"CHK": {"In Review": "reviewing"}}},
                         "git": {"deploy_tag_pattern": "v(\\d+"}}
    with pytest.raises(OrgConfigError) as err:
        load_org_config(_write(tmp_path, data))
    message = str(err.value)
    assert "jira.status_mapping.CHK.In Review" in message and "'reviewing'" in message
    assert "git.deploy_tag_pattern" in message


def test_an_ownership_rule_for_an_unknown_team_is_rejected(tmp_path):
    data = _minimal()
    data["ownership"]["jira"].append({"project": "PAY", "team": "payments"})
    with pytest.raises(OrgConfigError, match=r"ownership.jira\[1\]: team 'payments' is not a declared team"):
        load_org_config(_write(tmp_path, data))


def test_unknown_keys_and_unreadable_files_fail_clearly(tmp_path):
    data = _minimal() | {"anonymity_treshold": 3}
    with pytest.raises(OrgConfigError, match="anonymity_treshold"):
        load_org_config(_write(tmp_path, data))
    with pytest.raises(OrgConfigError, match="cannot read"):
        load_org_config(tmp_path / "missing.yml")
    (tmp_path / "bad.yml").write_text("teams: [", encoding="utf-8")
    with pytest.raises(OrgConfigError, match="not valid YAML"):
        load_org_config(tmp_path / "bad.yml")


def test_flat_tables_pseudonymise_members_and_keep_rule_order(tmp_path):
    config = load_org_config(_write(tmp_path, _minimal()))
    tables = org_config_rows(config, lambda identity: "h:" + identity)
    assert tables["team_members"] == [{"team": "checkout", "member_id": "h:ada@acme.example"},
                                      {"team": "checkout", "member_id": "h:5b10abc"}]
    assert tables["jira_ownership_rules"][0]["rule_order"] == 1
    assert {r["metric"] for r in tables["dora_bands"]} == {
        "deployment_days_per_week", "change_lead_time_hours", "change_fail_rate_pct", "recovery_time_hours"}


def test_the_dora_band_set_defaults_to_2023_and_2021_is_available(tmp_path):
    default = org_config_rows(load_org_config(_write(tmp_path, _minimal())), str)
    older = org_config_rows(load_org_config(_write(tmp_path, _minimal() | {"dora": {"band_set": "2021"}})), str)
    assert {"setting": "dora_band_set", "value": "2023"} in default["settings"]
    assert {"setting": "dora_band_set", "value": "2021"} in older["settings"]

    def elite_lead_time(tables):
        return next(r["max_value"] for r in tables["dora_bands"]
                    if r["metric"] == "change_lead_time_hours" and r["band"] == "elite")

    assert (elite_lead_time(default), elite_lead_time(older)) == (24.0, 1.0)  # under a day (2023), an hour (2021)
    with pytest.raises(OrgConfigError, match="band_set"):
        load_org_config(_write(tmp_path, _minimal() | {"dora": {"band_set": "2019"}}))


def test_incident_labels_land_as_a_table(tmp_path):
    data = _minimal() | {"jira": {"incident_labels": ["incident", "outage"]}}
    tables = org_config_rows(load_org_config(_write(tmp_path, data)), str)
    assert tables["incident_labels"] == [{"label": "incident"}, {"label": "outage"}]


def test_a_project_key_yaml_reads_as_a_boolean_says_to_quote_it(tmp_path):
    """YAML 1.1 reads an unquoted NO (Norway's project key), off or yes as a boolean."""
    path = tmp_path / "flowmart.yml"
    path.write_text("value_streams: [{name: Payments}]\n"
                    "teams: [{name: checkout, value_stream: Payments}]\n"
                    "ownership:\n"
                    "  jira:\n"
                    "    - {project: NO, team: checkout}\n"
                    "jira:\n"
                    "  status_mapping:\n"
                    "    off: {Done: done}\n", encoding="utf-8")
    with pytest.raises(OrgConfigError) as err:
        load_org_config(path)
    message = str(err.value)
    assert "ownership.jira[0].project: got the boolean false, not text" in message
    assert "jira.status_mapping, a key: got the boolean false, not text" in message
    assert 'YAML read NO (line 5), off (line 8) as booleans: quote a value meant as text, e.g. project: "NO"' \
        in message
    path.write_text(path.read_text().replace("NO", '"NO"').replace("off", '"off"'), encoding="utf-8")
    config = load_org_config(path)
    assert config.jira_projects() == ["NO"] and "off" in config.jira.status_mapping


def test_value_stream_steps_land_in_order_and_a_repeated_step_is_named(tmp_path):
    data = _minimal()
    data["value_streams"][0]["steps"] = ["In Progress", " In Review ", "In QA"]
    config = load_org_config(_write(tmp_path, data))
    tables = org_config_rows(config, lambda x: x)
    assert tables["value_stream_steps"] == [
        {"value_stream": "Payments", "step_order": 1, "status": "In Progress"},
        {"value_stream": "Payments", "step_order": 2, "status": "In Review"},
        {"value_stream": "Payments", "step_order": 3, "status": "In QA"},
    ]
    assert "steps" not in tables["value_streams"][0]
    data["value_streams"][0]["steps"] = ["In Progress", "in progress"]
    with pytest.raises(OrgConfigError) as err:
        load_org_config(_write(tmp_path, data))
    assert "value_streams[0] (Payments).steps" in str(err.value) and "'in progress'" in str(err.value)
