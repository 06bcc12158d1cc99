"""The Jira loader over real HTTP against the local Jira-speaking server: pagination, complete changelogs,
custom fields, ADF, faults, incremental loads, reconciliation and privacy."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.runner import load_source
from pipelines import jira
from pipelines.http import ApiError
from pipelines.orgconfig import load_org_config
from tests.conftest import all_text_values

SEARCH = r"/rest/api/3/search/jql$"  # the pages (POST); the reconciliation pass uses GET with a query


def _org(sample: Path):
    return load_org_config(sample / "org.yml")


def _sample_issues(sample: Path) -> list[dict]:
    with (sample / "jira" / "issues.jsonl").open() as f:
        return [json.loads(line) for line in f]


def _count(db: Path, sql: str):
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_full_load_lands_every_issue_over_many_pages(small_sample, api_server, warehouse):
    issues = _sample_issues(small_sample)
    counts = jira.load(_org(small_sample))
    assert counts["_issues_fetched"] == len(issues)
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(issues)
    pages = api_server.requests_matching(SEARCH)
    assert len(pages) >= len(issues) // jira.PAGE_SIZE  # paged by nextPageToken, 100 at a time


def test_an_issue_with_more_than_250_histories_lands_all_of_them(small_sample, api_server, warehouse):
    issues = _sample_issues(small_sample)
    longest = max(issues, key=lambda i: len(i["changelog"]["histories"]))
    histories = len(longest["changelog"]["histories"])
    assert histories >= 250
    expected_items = sum(len(h["items"]) for h in longest["changelog"]["histories"])
    jira.load(_org(small_sample))
    landed = _count(warehouse, f"select count(distinct history_id) from raw_jira.changelog_items "
                               f"where issue_id = '{longest['id']}'")
    assert landed == histories
    assert _count(warehouse, f"select count(*) from raw_jira.changelog_items where issue_id = '{longest['id']}'") \
        == expected_items
    # the embedded changelog was truncated, so the changelog endpoint was paged (100 per page)
    assert len(api_server.requests_matching(rf"/issue/{longest['id']}/changelog")) >= 3


def test_every_status_transition_of_the_sample_lands(small_sample, api_server, warehouse):
    issues = _sample_issues(small_sample)
    expected = sum(1 for i in issues for h in i["changelog"]["histories"] for it in h["items"]
                   if it["field"] == "status")
    jira.load(_org(small_sample))
    assert _count(warehouse, "select count(*) from raw_jira.changelog_items where field = 'status'") == expected


def test_custom_field_names_resolve_to_ids_and_adf_becomes_plain_text(small_sample, api_server, warehouse):
    jira.load(_org(small_sample))
    conn = duckdb.connect(str(warehouse), read_only=True)
    outcomes = [r[0] for r in conn.execute(
        "select anticipated_outcome from raw_jira.issues where issue_type = 'Epic' "
        "and anticipated_outcome is not null").fetchall()]
    teams = {r[0] for r in conn.execute("select distinct team_field_value from raw_jira.issues").fetchall()}
    verdicts = {r[0] for r in conn.execute("select distinct outcome_verdict from raw_jira.issues "
                                           "where outcome_verdict is not null").fetchall()}
    conn.close()
    assert outcomes, "anticipated outcomes were resolved by name and landed"
    assert any("Measured on the product dashboard." in o and "- Baseline recorded" in o for o in outcomes)
    assert not any('"type"' in o or "{" in o for o in outcomes), "no ADF JSON left"
    assert any("@user" in o for o in outcomes), "mentions are replaced, not dropped silently"
    assert "checkout" in teams
    assert verdicts <= {"Achieved", "Partially achieved", "Not achieved"} and verdicts


def test_429_with_retry_after_is_honoured(small_sample, api_server, warehouse):
    api_server.faults.add(SEARCH, "429", times=1, retry_after=1, skip=1)
    started = time.perf_counter()
    counts = jira.load(_org(small_sample))
    assert time.perf_counter() - started >= 1.0  # waited as told
    assert counts["_issues_fetched"] == len(_sample_issues(small_sample))
    assert api_server.faults._faults[0].hits == 1


def test_transient_500s_and_truncated_pages_are_retried(small_sample, api_server, warehouse):
    api_server.faults.add(SEARCH, "500", times=2, skip=2)
    api_server.faults.add(r"/changelog", "503", times=1)
    api_server.faults.add(SEARCH, "truncated", times=1, skip=4)
    counts = jira.load(_org(small_sample))
    assert counts["_issues_fetched"] == len(_sample_issues(small_sample))
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(_sample_issues(small_sample))


def test_a_persistent_500_fails_loudly_and_keeps_the_pages_loaded_before(small_sample, api_server, warehouse):
    api_server.faults.add(SEARCH, "500", times=-1, skip=3)  # pages 1-3 answer, then the API breaks
    with pytest.raises(jira.JiraLoadError) as failure:
        jira.load(_org(small_sample))
    message = str(failure.value)
    assert "/rest/api/3/search/jql" in message and "500" in message
    kept = _count(warehouse, "select count(*) from raw_jira.issues")
    assert kept == 3 * jira.PAGE_SIZE
    # consistent: every landed issue has its complete changelog
    assert _count(warehouse, "select count(*) from raw_jira.issues i where changelog_total <> "
                             "(select count(distinct history_id) from raw_jira.changelog_items c "
                             " where c.issue_id = i.id and c.item_index >= 0)") == 0
    # the cursor did not pass unloaded data: once the API recovers, the rest loads and nothing is doubled
    api_server.faults.clear()
    jira.load(_org(small_sample))
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(_sample_issues(small_sample))
    assert _count(warehouse, "select count(*) from (select id from raw_jira.issues group by id "
                             "having count(*) > 1) d") == 0


def test_truncated_json_that_stays_broken_fails_loudly(small_sample, api_server, warehouse):
    api_server.faults.add(SEARCH, "truncated", times=-1)
    with pytest.raises(jira.JiraLoadError, match="malformed JSON"):
        jira.load(_org(small_sample))


def test_second_run_fetches_only_updated_issues_and_counts_stay_exact(small_sample, api_server, warehouse):
    org = _org(small_sample)
    jira.load(org)
    issues_before = _count(warehouse, "select count(*) from raw_jira.issues")
    items_before = _count(warehouse, "select count(*) from raw_jira.changelog_items")
    store = api_server.apis["jira"]
    open_issues = [i for i in _sample_issues(small_sample) if i["fields"]["status"]["name"] == "In Progress"][:3]
    now = datetime.now(UTC)
    for issue in open_issues:
        store.transition(issue["key"], "In Review", at=now)
    # besides the 3 changed issues, only the few inside the cursor's overlap window are fetched again
    newest = max(jira._ts(i["fields"]["updated"]) for i in _sample_issues(small_sample))
    since = (newest - jira.OVERLAP).replace(second=0, microsecond=0)
    in_overlap = sum(1 for i in _sample_issues(small_sample) if jira._ts(i["fields"]["updated"]) >= since
                     and i["key"] not in {o["key"] for o in open_issues})
    counts = jira.load(org)
    assert counts["_issues_fetched"] == 3 + in_overlap
    assert in_overlap < 5
    assert _count(warehouse, "select count(*) from raw_jira.issues") == issues_before
    assert _count(warehouse, "select count(*) from raw_jira.changelog_items") == items_before + 3
    status = _count(warehouse, f"select status from raw_jira.issues where key = '{open_issues[0]['key']}'")
    assert status == "In Review"
    # every changelog item written by the second run carries that run's start: the items of the issues it
    # fetched again, and no other (the daily dbt run tests these)
    assert _count(warehouse, "select count(distinct loaded_at) from raw_jira.changelog_items") == 2
    assert _count(warehouse, "select count(distinct issue_id) from raw_jira.changelog_items where loaded_at = "
                             "(select max(loaded_at) from raw_jira.changelog_items)") == 3 + in_overlap
    # a third run without changes fetches only the overlap again and changes nothing
    assert jira.load(org)["_issues_fetched"] == 3
    assert _count(warehouse, "select count(*) from raw_jira.changelog_items") == items_before + 3


def test_reconciliation_flags_an_issue_that_left_the_scope(small_sample, api_server, warehouse):
    org = _org(small_sample)
    jira.load(org)
    victim = _sample_issues(small_sample)[5]
    api_server.apis["jira"].delete(victim["key"])
    jira.load(org)
    assert _count(warehouse, f"select is_deleted from raw_jira.issue_deletions where issue_id = '{victim['id']}'")
    assert _count(warehouse, "select count(*) from raw_jira.issue_deletions where is_deleted") == 1
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(_sample_issues(small_sample))


def test_full_refresh_reloads_everything_without_duplicates(small_sample, api_server, warehouse):
    org = _org(small_sample)
    jira.load(org)
    counts = load_source("jira", org, small_sample, "duckdb", full_refresh=True)
    assert counts["_issues_fetched"] == len(_sample_issues(small_sample))
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(_sample_issues(small_sample))


def test_no_name_or_email_reaches_the_warehouse_and_pseudonyms_are_stable(small_sample, api_server, warehouse):
    org = _org(small_sample)
    jira.load(org)
    people = set()
    for issue in _sample_issues(small_sample):
        for key in ("assignee", "reporter", "creator"):
            person = issue["fields"].get(key)
            if person:
                people.add((person["displayName"], person["emailAddress"], person["accountId"]))
    values = "\n".join(all_text_values(warehouse))
    for name, email, account in people:
        assert name not in values and email not in values and account not in values
    first = _count(warehouse, "select min(assignee_id) from raw_jira.issues")
    assert first.startswith("p_")
    load_source("jira", org, small_sample, "duckdb", full_refresh=True)
    assert _count(warehouse, "select min(assignee_id) from raw_jira.issues") == first


def test_a_missing_custom_field_is_reported_not_fatal(small_sample, api_server, warehouse, caplog):
    org = _org(small_sample)
    org = org.model_copy(update={"jira": org.jira.model_copy(update={"fields": org.jira.fields.model_copy(
        update={"key_result": "Does not exist"})})})
    with caplog.at_level("WARNING", logger="flowmart.jira"):
        jira.load(org)
    assert "Does not exist" in caplog.text
    assert _count(warehouse, "select count(key_result) from raw_jira.issues") == 0


def test_wrong_credentials_fail_loudly_naming_the_url(small_sample, api_server, warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__JIRA__BASE_URL", api_server.url + "/nowhere")
    expected = r"GET http://127\.0\.0\.1:\d+/nowhere/rest/api/3/field failed with HTTP 404"
    with pytest.raises(Exception, match=expected) as failure:  # dlt wraps the loader's ApiError
        jira.load(_org(small_sample))
    chain, error = [], failure.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(e, ApiError) for e in chain)


def test_parent_changes_recorded_as_a_real_site_records_them_land_as_parent(small_sample, api_server, warehouse):
    """A real site's changelog records a parent change as `Parent` without a fieldId, as `Epic Link` under its
    custom field's id, or as `IssueParentAssociation`; each lands as field `parent`, with the ids and keys."""
    issues = _sample_issues(small_sample)
    story = next(i for i in issues if i["fields"]["issuetype"]["name"] == "Story")
    epics = [i for i in issues if i["fields"]["issuetype"]["name"] == "Epic"][:3]
    items = [
        {"field": "Parent", "fieldtype": "jira", "from": None, "fromString": None,
         "to": epics[0]["id"], "toString": epics[0]["key"]},
        {"field": "Epic Link", "fieldtype": "custom", "fieldId": "customfield_10014", "from": epics[0]["id"],
         "fromString": epics[0]["key"], "to": epics[1]["id"], "toString": epics[1]["key"]},
        {"field": "IssueParentAssociation", "fieldtype": "jira", "from": epics[1]["id"],
         "fromString": epics[1]["key"], "to": epics[2]["id"], "toString": epics[2]["key"]},
        {"field": "Sprint", "fieldtype": "custom", "fieldId": "customfield_10020", "from": None, "fromString": None,
         "to": "7", "toString": "Sprint 7"},
    ]
    history = api_server.apis["jira"].record(story["key"], items)["changelog"]["histories"][-1]
    jira.load(_org(small_sample))
    conn = duckdb.connect(str(warehouse), read_only=True)
    rows = conn.execute("select item_index, field, from_value, from_string, to_value, to_string "
                        "from raw_jira.changelog_items where issue_id = ? and history_id = ? order by item_index",
                        [story["id"], history["id"]]).fetchall()
    conn.close()
    assert rows == [
        (0, "parent", None, None, epics[0]["id"], epics[0]["key"]),
        (1, "parent", epics[0]["id"], epics[0]["key"], epics[1]["id"], epics[1]["key"]),
        (2, "parent", epics[1]["id"], epics[1]["key"], epics[2]["id"], epics[2]["key"]),
    ]  # the sprint change is not a flow field: it does not land


def test_a_401_says_to_check_the_email_and_the_api_token(small_sample, api_server, warehouse):
    api_server.faults.add(r"/rest/api/3/", "401", times=-1)
    with pytest.raises(Exception) as failure:  # noqa: PT011 - dlt wraps the loader's ApiError
        jira.load(_org(small_sample))
    chain, error = [], failure.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    refused = next(e for e in chain if isinstance(e, ApiError))
    assert "HTTP 401" in str(refused) and "check the e-mail and the API token" in str(refused)
    assert "SOURCES__JIRA__EMAIL" in str(refused) and "SOURCES__JIRA__API_TOKEN" in str(refused)
