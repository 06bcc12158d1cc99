"""The sample organisation: deterministic, in the real systems' formats, with its stories planted, and
served with real pagination and switchable faults."""

from __future__ import annotations

import hashlib
import json
import statistics
from datetime import date
from pathlib import Path

import requests

from pipelines.sample.generate import generate_sample
from pipelines.sample.server import SampleApiServer
from pipelines.sample.world import build_world

AUTH = ("tester@acme.example", "token")


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_generation_is_deterministic(tmp_path, small_sample):
    again = tmp_path / "again"
    generate_sample(again, scale=0.05, anchor=date(2026, 10, 1))
    assert _digest(again) == _digest(small_sample)


def test_scale_multiplies_teams():
    assert len(build_world(scale=1).teams) == 8
    world = build_world(scale=3)
    assert len(world.teams) == 24 and len({t.project_key for t in world.teams}) == 24
    assert len(world.value_streams) == 9


def _issues(sample: Path) -> list[dict]:
    with (sample / "jira" / "issues.jsonl").open() as f:
        return [json.loads(line) for line in f]


def _hours_in(issue: dict, status: str) -> float:
    from pipelines.jira import _ts

    total, entered = 0.0, None
    for h in issue["changelog"]["histories"]:
        for item in h["items"]:
            if item["field"] == "status":
                at = _ts(h["created"])
                if entered is not None:
                    total += (at - entered).total_seconds() / 3600
                    entered = None
                if item["toString"] == status:
                    entered = at
    return total


def test_the_review_bottleneck_and_the_feature_factory_are_planted(small_sample):
    issues = _issues(small_sample)
    review = {}
    for project in ("CHK", "PAY", "ONB"):
        reviewed = [_hours_in(i, "In Review") for i in issues
                    if i["fields"]["project"]["key"] == project and i["fields"]["issuetype"]["name"] == "Story"]
        review[project] = statistics.median([h for h in reviewed if h > 0])
    assert review["CHK"] > 3 * max(review["PAY"], review["ONB"])
    epics = [i for i in issues if i["fields"]["issuetype"]["name"] == "Epic"]
    growth = [e for e in epics if e["fields"]["project"]["key"] in ("ONB", "MOB")]
    others = [e for e in epics if e["fields"]["project"]["key"] not in ("ONB", "MOB")]

    def with_outcome(es):
        return sum(1 for e in es if e["fields"]["customfield_10050"]
                   and len(json.dumps(e["fields"]["customfield_10050"])) > 200) / len(es)

    assert with_outcome(growth) < 0.4 < with_outcome(others)


def test_the_workflows_cover_the_edge_cases(small_sample):
    issues = _issues(small_sample)
    statuses = [[it["toString"] for h in i["changelog"]["histories"] for it in h["items"] if it["field"] == "status"]
                for i in issues]
    assert any("Done" in s[:-1] and s[-1] == "Done" for s in statuses), "reopened after done"
    assert any(i["fields"]["resolution"] and i["fields"]["resolution"]["name"] in ("Won't Do", "Duplicate")
               for i in issues), "canceled"
    assert any(s and s[-1] == "Done" and "In Progress" not in s for s in statuses), "done without being active"
    assert any(i["fields"]["status"]["name"] == "In Progress" for i in issues), "still in progress"
    assert any(i["fields"]["issuelinks"] for i in issues), "cross-team Blocks links"
    assert any(i["fields"]["issuetype"]["name"] == "Incident" for i in issues), "incidents"
    offsets = {h["created"][-5:] for i in issues[:200] for h in i["changelog"]["histories"]}
    assert len(offsets) >= 3, "mixed time-zone offsets"


def test_search_pages_with_next_page_token_and_needs_auth(small_sample):
    with SampleApiServer(small_sample) as server:
        url = f"{server.url}/rest/api/3/search/jql"
        assert requests.get(url, params={"jql": "project = CHK"}, timeout=10).status_code == 401
        seen, token = [], None
        while True:
            params = {"jql": "project = CHK ORDER BY updated ASC", "maxResults": 50, "fields": "id"}
            if token:
                params["nextPageToken"] = token
            body = requests.get(url, params=params, auth=AUTH, timeout=10).json()
            seen += [i["id"] for i in body["issues"]]
            token = body.get("nextPageToken")
            if body["isLast"]:
                break
        expected = [i["id"] for i in _issues(small_sample) if i["fields"]["project"]["key"] == "CHK"]
        assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen)) > 50


def test_faults_switch_on_over_http(small_sample):
    with SampleApiServer(small_sample) as server:
        requests.post(f"{server.url}/_control/faults", json={"pattern": "/field", "kind": "429", "retry_after": 7},
                      timeout=10)
        first = requests.get(f"{server.url}/rest/api/3/field", auth=AUTH, timeout=10)
        assert first.status_code == 429 and first.headers["Retry-After"] == "7"
        assert requests.get(f"{server.url}/rest/api/3/field", auth=AUTH, timeout=10).status_code == 200
        server.faults.add("/field", "truncated")
        broken = requests.get(f"{server.url}/rest/api/3/field", auth=AUTH, timeout=10)
        assert broken.status_code == 200
        try:
            broken.json()
            raise AssertionError("truncated JSON parsed")
        except ValueError:
            pass
