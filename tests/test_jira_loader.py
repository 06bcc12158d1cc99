"""The Jira loader over real HTTP against the local Jira-speaking server: pagination, complete changelogs,
custom fields, ADF, faults, incremental loads, reconciliation and privacy."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.runner import load_source
from pipelines import jira
from pipelines.http import ApiError
from pipelines.orgconfig import load_org_config
from pipelines.sample.server import SampleApiServer
from pipelines.settings import make_pipeline
from tests.conftest import all_text_values

SEARCH = r"/rest/api/3/search/jql$"  # the id pages (POST); the reconciliation pass uses GET with a query
BULK = r"/rest/api/3/issue/bulkfetch$"  # the issues, 100 a request, several in flight


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
    assert len(api_server.requests_matching(SEARCH)) == 1  # the ids, 5000 a page
    assert len(api_server.requests_matching(BULK)) == -(-len(issues) // jira.BULK_FETCH)  # the issues, 100 at a time


def test_landed_rows_do_not_depend_on_the_concurrency(small_sample, api_server, warehouse, monkeypatch):
    def snapshot() -> dict[str, list]:
        conn = duckdb.connect(str(warehouse), read_only=True)
        try:
            out = {}
            for table in ("issues", "changelog_items", "issue_labels", "issue_components", "issue_links"):
                columns = [c for (c,) in conn.execute(
                    "select column_name from information_schema.columns where table_schema = 'raw_jira' "
                    "and table_name = ? and column_name not in ('loaded_at', '_dlt_load_id', '_dlt_id') "
                    "order by column_name", [table]).fetchall()]
                out[table] = conn.execute(f"select {', '.join(columns)} from raw_jira.{table} "
                                          f"order by all").fetchall()
            return out
        finally:
            conn.close()

    monkeypatch.setenv("SOURCES__JIRA__CONCURRENCY", "1")
    jira.load(_org(small_sample))
    one_at_a_time = snapshot()
    monkeypatch.setenv("SOURCES__JIRA__CONCURRENCY", "8")
    load_source("jira", _org(small_sample), small_sample, "duckdb", full_refresh=True)
    assert snapshot() == one_at_a_time
    assert len(one_at_a_time["issues"]) == len(_sample_issues(small_sample))


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
    api_server.faults.add(BULK, "429", times=1, retry_after=1, skip=1)
    started = time.perf_counter()
    counts = jira.load(_org(small_sample))
    assert time.perf_counter() - started >= 1.0  # waited as told
    assert counts["_issues_fetched"] == len(_sample_issues(small_sample))
    assert api_server.faults._faults[0].hits == 1


def test_429_on_changelogs_fetched_concurrently_pauses_them_and_every_history_lands(small_sample, api_server,
                                                                                     warehouse):
    issues = _sample_issues(small_sample)
    store = api_server.apis["jira"]
    for issue in issues[100:400:100]:  # more issues whose embedded changelog is cut (the latest 40 only)
        for n in range(45):
            store.record(issue["key"], [{"field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": None,
                                         "fromString": None, "to": None, "toString": f"label-{n}"}])
    issues = [store.issue(i["id"]) for i in issues]
    truncated = [i for i in issues if len(i["changelog"]["histories"]) > 40]
    assert len(truncated) >= 3
    fault = api_server.faults.add(r"/changelog", "429", times=2, retry_after=1)
    started = time.perf_counter()
    jira.load(_org(small_sample))
    assert time.perf_counter() - started >= 1.0  # waited as told
    assert fault.hits == 2
    assert len(api_server.requests_matching(r"/changelog")) >= 2 + sum(
        -(-len(i["changelog"]["histories"]) // jira.CHANGELOG_PAGE) for i in truncated)
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(issues)
    for issue in truncated:
        assert _count(warehouse, f"select changelog_total from raw_jira.issues where id = '{issue['id']}'") \
            == len(issue["changelog"]["histories"])


def test_transient_500s_and_truncated_pages_are_retried(small_sample, api_server, warehouse):
    api_server.faults.add(BULK, "500", times=2, skip=2)
    api_server.faults.add(r"/changelog", "503", times=1)
    api_server.faults.add(BULK, "truncated", times=1, skip=4)
    api_server.faults.add(SEARCH, "502", times=1)
    counts = jira.load(_org(small_sample))
    assert counts["_issues_fetched"] == len(_sample_issues(small_sample))
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(_sample_issues(small_sample))


def test_a_persistent_500_fails_loudly_and_keeps_the_pages_loaded_before(small_sample, api_server, warehouse,
                                                                         monkeypatch):
    monkeypatch.setenv("SOURCES__JIRA__CONCURRENCY", "1")  # the 4th bulk fetch is the 4th request
    api_server.faults.add(BULK, "500", times=-1, skip=3)  # chunks 1-3 answer, then the API breaks
    with pytest.raises(jira.JiraLoadError) as failure:
        jira.load(_org(small_sample))
    message = str(failure.value)
    assert "/rest/api/3/issue/bulkfetch" in message and "500" in message
    kept = _count(warehouse, "select count(*) from raw_jira.issues")
    assert kept == 3 * jira.BULK_FETCH
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


def _cursor() -> datetime:
    state = make_pipeline("jira").state["sources"]["jira"]["resources"]["issue_pages"]
    return datetime.fromisoformat(state["updated_cursor"])


def test_a_malformed_page_amid_concurrent_fetches_fails_loudly_and_keeps_whole_issues(small_sample, api_server,
                                                                                     warehouse):
    issues = sorted(_sample_issues(small_sample), key=lambda i: (jira._ts(i["fields"]["updated"]), int(i["id"])))
    api_server.faults.add(BULK, "truncated", times=-1, skip=3)
    with pytest.raises(jira.JiraLoadError, match="malformed JSON"):
        jira.load(_org(small_sample))
    kept = _count(warehouse, "select count(*) from raw_jira.issues")
    assert kept % jira.BULK_FETCH == 0 and kept <= 3 * jira.BULK_FETCH  # whole chunks, in the search's order
    assert _count(warehouse, "select count(*) from raw_jira.issues i where changelog_total <> "
                             "(select count(distinct history_id) from raw_jira.changelog_items c "
                             " where c.issue_id = i.id and c.item_index >= 0)") == 0
    if kept:  # the cursor stops at the last issue that landed, before the first that did not
        landed = {str(r[0]) for r in duckdb.connect(str(warehouse), read_only=True).execute(
            "select id from raw_jira.issues").fetchall()}
        assert landed == {i["id"] for i in issues[:kept]}
        assert _cursor() <= jira._ts(issues[kept]["fields"]["updated"])
    api_server.faults.clear()
    jira.load(_org(small_sample))
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(issues)
    assert _count(warehouse, "select count(*) from (select id from raw_jira.issues group by id "
                             "having count(*) > 1) d") == 0


def test_the_cursor_does_not_pass_issues_that_did_not_land(small_sample, api_server, warehouse, monkeypatch):
    """The id search breaks on its 3rd page: the issues of pages 1-2 land (fetched concurrently), the cursor
    stays before the first issue of page 3, and the next run loads the rest without doubling anything."""
    monkeypatch.setattr(jira, "ID_PAGE_SIZE", 200)
    issues = sorted(_sample_issues(small_sample), key=lambda i: (jira._ts(i["fields"]["updated"]), int(i["id"])))
    api_server.faults.add(SEARCH, "500", times=-1, skip=2)
    with pytest.raises(jira.JiraLoadError, match="search/jql"):
        jira.load(_org(small_sample))
    assert _count(warehouse, "select count(*) from raw_jira.issues") == 400
    assert _cursor() <= jira._ts(issues[400]["fields"]["updated"])
    assert _cursor() >= jira._ts(issues[399]["fields"]["updated"])  # but it moved over what landed
    api_server.faults.clear()
    counts = jira.load(_org(small_sample))
    assert counts["_issues_fetched"] < len(issues)  # resumed from the cursor (minus its overlap)
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(issues)
    assert _count(warehouse, "select count(*) from (select issue_id, history_id, item_index "
                             "from raw_jira.changelog_items group by all having count(*) > 1) d") == 0


def test_an_issue_changed_since_the_search_does_not_move_the_cursor_past_the_others(small_sample, api_server,
                                                                                      warehouse, monkeypatch):
    """The cursor follows the search's order: an issue changed between the search and its fetch (updated
    after the API's clock at the search) says nothing of the issues listed after it."""
    monkeypatch.setenv("SOURCES__JIRA__CONCURRENCY", "1")
    issues = sorted(_sample_issues(small_sample), key=lambda i: (jira._ts(i["fields"]["updated"]), int(i["id"])))
    changed = issues[10]
    fetch_chunk = jira._Fetcher.fetch_chunk

    def change_then_fetch(self, ids, fields):
        if changed["id"] in ids:  # someone moves it on while the load runs
            api_server.apis["jira"].record(changed["key"], [{"field": "labels", "fieldtype": "jira",
                                                             "fieldId": "labels", "from": None, "fromString": None,
                                                             "to": None, "toString": "late"}])
        return fetch_chunk(self, ids, fields)

    monkeypatch.setattr(jira._Fetcher, "fetch_chunk", change_then_fetch)
    api_server.faults.add(BULK, "500", times=-1, skip=1)  # only the first chunk lands
    with pytest.raises(jira.JiraLoadError):
        jira.load(_org(small_sample))
    landed = _count(warehouse, f"select updated from raw_jira.issues where id = '{changed['id']}'")
    assert landed > jira._ts(issues[-1]["fields"]["updated"])  # it landed as changed, the newest of all
    assert _count(warehouse, "select count(*) from raw_jira.issues") == jira.BULK_FETCH
    assert _cursor() <= jira._ts(issues[jira.BULK_FETCH]["fields"]["updated"])
    api_server.faults.clear()
    jira.load(_org(small_sample))
    assert _count(warehouse, "select count(*) from raw_jira.issues") == len(issues)


def test_the_latency_option_delays_every_answer_without_serialising_them(small_sample):
    import requests

    with SampleApiServer(small_sample, latency=0.4) as server:
        def get(out: list) -> None:
            started = time.perf_counter()
            requests.get(f"{server.url}/rest/api/3/status", auth=("a", "b"), timeout=30)
            out.append(time.perf_counter() - started)

        durations: list[float] = []
        threads = [threading.Thread(target=get, args=(durations,)) for _ in range(4)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = time.perf_counter() - started
    assert len(durations) == 4 and min(durations) >= 0.4  # every answer waited
    assert total < 4 * 0.4  # the four waits overlapped (a generous bound: one wait is 0.4 s)


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
    # a third run without changes fetches only the overlap again and changes nothing (the 3 issues changed a
    # moment before the second run's search are past its snapshot: they stay in the window, fetched again)
    assert 3 <= jira.load(org)["_issues_fetched"] <= 3 + in_overlap
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
