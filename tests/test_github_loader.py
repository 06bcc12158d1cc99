"""The GitHub loader over real HTTP against the local sample API server, into a real DuckDB file."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import github
from pipelines.http import ApiError
from pipelines.orgconfig import load_org_config
from pipelines.sample import github_data
from pipelines.sample.server import SampleApiServer
from pipelines.sample.world import build_world

REPOS = ["acme/checkout-web", "acme/mobile-app"]


@pytest.fixture()
def sample(small_sample: Path) -> Path:
    """The shared sample organisation (conftest): scale 0.05, anchored on 2026-10-01."""
    return small_sample


@pytest.fixture()
def server(sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("FLOWMART_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("FLOWMART__PSEUDONYM_SALT", "test-salt")
    monkeypatch.setenv("FLOWMART_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("FLOWMART_HTTP_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("SOURCES__GITHUB__ACCESS_TOKEN", "test-token")
    monkeypatch.setenv("SOURCES__GITHUB__REPOSITORIES", ",".join(REPOS))
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "100")
    srv = SampleApiServer(sample)
    with srv:
        monkeypatch.setenv("SOURCES__GITHUB__BASE_URL", srv.url)
        yield srv


def run_load(sample: Path) -> dict[str, int]:
    return github.load(load_org_config(sample / "org.yml"), sample)


def query(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def table_counts(tmp_path: Path) -> dict[str, int]:
    tables = ["pull_requests", "reviews", "pr_comments", "pr_commits", "deployments", "deployment_statuses"]
    return {t: query(tmp_path, f"select count(*) from raw_github.{t}")[0][0] for t in tables}


def sample_counts(sample: Path, repos: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(
        ["pull_requests", "reviews", "pr_comments", "pr_commits", "deployments", "deployment_statuses"], 0
    )
    for repo in repos:
        for line in (sample / "github" / repo / "pulls.jsonl").read_text().splitlines():
            pr = json.loads(line)
            counts["pull_requests"] += 1
            counts["reviews"] += len(pr["_reviews"])
            counts["pr_comments"] += len(pr["_comments"])
            counts["pr_commits"] += len(pr["_commits"])
        for line in (sample / "github" / repo / "deployments.jsonl").read_text().splitlines():
            counts["deployments"] += 1
            counts["deployment_statuses"] += len(json.loads(line)["_statuses"])
    return counts


def test_full_load_follows_link_pagination_and_lands_every_record(server, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "3")
    landed = run_load(sample)

    expected = sample_counts(sample, REPOS)
    assert table_counts(tmp_path) == expected
    assert {k: landed[k] for k in expected} == expected
    for repo in REPOS:
        pages = server.requests_matching(rf"^/repos/{repo}/pulls\?")
        assert len(pages) == -(-sum(1 for _ in open(sample / "github" / repo / "pulls.jsonl")) // 3)
        assert len(pages) > 3 and any("page=2" in p for p in pages)
    # sizes come from the single-PR endpoint (the list leaves them out)
    assert query(tmp_path, "select count(*) from raw_github.pull_requests where additions is null") == [(0,)]


def test_incremental_rerun_fetches_only_changed_prs_and_counts_stay_exact(server, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "10")  # several pages per repository
    run_load(sample)
    before = table_counts(tmp_path)
    store = server.apis["github"]
    reviewer = {"login": "someone-else", "id": 77, "type": "User"}
    store.touch_pull("acme/checkout-web", 3, review={"user": reviewer, "state": "APPROVED"})
    store.touch_pull("acme/mobile-app", 5, comment=True, title="Renamed")
    server.request_log.clear()

    run_load(sample)

    details = server.requests_matching(r"^/repos/[^/]+/[^/]+/pulls/\d+$")
    assert sorted(details) == ["/repos/acme/checkout-web/pulls/3", "/repos/acme/mobile-app/pulls/5"]
    assert len(server.requests_matching(r"/pulls\?")) == 2  # one page per repository: stopped at the cursor
    after = table_counts(tmp_path)
    assert after == before | {"reviews": before["reviews"] + 1, "pr_comments": before["pr_comments"] + 1}
    assert query(tmp_path, "select title from raw_github.pull_requests where repository = 'acme/mobile-app' "
                           "and number = 5") == [("Renamed",)]

    server.request_log.clear()
    run_load(sample)
    assert server.requests_matching(r"/pulls/\d+") == []
    assert table_counts(tmp_path) == after


def test_429_with_retry_after_is_honoured_and_transient_500s_are_retried(server, sample, tmp_path):
    too_many = server.faults.add(r"^/repos/acme/checkout-web/pulls\?", "429", times=1, retry_after=2)
    broken = server.faults.add(r"/pulls/\d+/commits", "500", times=2)
    store = server.apis["github"]
    started = time.time()

    run_load(sample)

    assert too_many.hits == 1 and broken.hits == 2
    retried = [t for t, path in store.requests_served if path == "/repos/acme/checkout-web/pulls"]
    assert retried and retried[0] - started >= 2
    assert table_counts(tmp_path) == sample_counts(sample, REPOS)


def test_403_rate_limit_is_waited_out_until_the_reset_time(server, sample, tmp_path):
    store = server.apis["github"]
    store.limit_rate(times=1, reset_in=1)

    run_load(sample)

    assert len(store.rate_limit_hits) == 1
    hit = store.rate_limit_hits[0]
    again = [t for t, path in store.requests_served if path == hit.path and t > hit.at]
    assert again and again[0] >= hit.reset
    assert table_counts(tmp_path) == sample_counts(sample, REPOS)


def test_persistent_500_fails_loudly_keeps_what_landed_and_the_next_run_resumes(server, sample, tmp_path):
    run_load(sample)
    before = table_counts(tmp_path)
    store = server.apis["github"]
    store.touch_pull("acme/mobile-app", 2, comment=True)
    server.faults.add(r"^/repos/acme/mobile-app/issues/2/comments", "500", times=-1)

    with pytest.raises(ApiError, match=r"/repos/acme/mobile-app/issues/2/comments.*HTTP 500"):
        run_load(sample)
    assert table_counts(tmp_path) == before

    server.faults.clear()
    server.request_log.clear()
    run_load(sample)
    assert server.requests_matching(r"/pulls/\d+$") == ["/repos/acme/mobile-app/pulls/2"]
    assert table_counts(tmp_path) == before | {"pr_comments": before["pr_comments"] + 1}


def test_deployment_with_failure_then_rollback_lands_with_all_statuses(server, sample, tmp_path):
    store = server.apis["github"]
    repo = "acme/checkout-web"
    failed = store.add_deployment(repo, "a" * 40, "production", created_at="2026-10-02T10:00:00Z", statuses=[
        ("in_progress", "2026-10-02T10:00:30Z"), ("success", "2026-10-02T10:08:00Z"),
        ("failure", "2026-10-02T10:31:00Z")])
    run_load(sample)
    rollback = store.add_deployment(repo, "b" * 40, "production", task="deploy:rollback",
                                    created_at="2026-10-02T10:40:00Z", statuses=[
                                        ("in_progress", "2026-10-02T10:40:30Z"), ("success", "2026-10-02T10:47:00Z")])
    server.request_log.clear()

    run_load(sample)

    assert len(server.requests_matching(r"/deployments/\d+/statuses")) == 1  # only the new deployment
    rows = query(tmp_path, f"""
        select d.deployment_id, d.task, d.is_production, s.state, s.created_at
        from raw_github.deployments d join raw_github.deployment_statuses s using (deployment_id)
        where d.deployment_id in ({failed['id']}, {rollback['id']}) order by s.created_at""")
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (failed["id"], "deploy", "in_progress"), (failed["id"], "deploy", "success"),
        (failed["id"], "deploy", "failure"),
        (rollback["id"], "deploy:rollback", "in_progress"), (rollback["id"], "deploy:rollback", "success"),
    ]
    assert all(r[2] for r in rows)
    assert rows[2][4].utcoffset() is not None  # landed as an instant (timestamptz)
    assert table_counts(tmp_path)["deployments"] == sample_counts(sample, REPOS)["deployments"] + 2


def test_no_name_or_email_of_sample_people_lands_and_bots_are_recognisable(
    server, sample, tmp_path, monkeypatch
):
    monkeypatch.setenv("SOURCES__GITHUB__REPOSITORIES", '["acme/mobile-app", "acme/infra-live", "acme/ledger"]')
    landed = run_load(sample)
    assert landed["pr_commit_trailers"] > 0 and landed["workflow_runs"] > 0

    world = build_world(scale=0.05, anchor=date(2026, 10, 1))
    secrets = {p.display_name for p in world.people} | {p.email for p in world.people}
    secrets |= {p.login for p in world.people} | {p.display_name.split()[-1] for p in world.people}
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        # dlt's own ids (_dlt_id...) are random base64: a surname can show up in one by chance (it did)
        columns = con.execute("""select table_schema, table_name, column_name from information_schema.columns
                                 where data_type = 'VARCHAR' and column_name not like '\\_dlt%' escape '\\'
                              """).fetchall()
        assert len(columns) > 20
        leaks = []
        for schema, table, column in columns:
            values = {v for (v,) in con.execute(f'select distinct "{column}" from "{schema}"."{table}"').fetchall()
                      if v}
            leaks += [(table, column, s) for s in secrets for v in values if s.lower() in v.lower()]
        assert leaks == []
        bots = con.execute("""select distinct author_bot_name from raw_github.pull_requests
                              where author_is_bot""").fetchall()
        ai = con.execute("""select count(*) from raw_github.pr_commit_trailers t
                            where matches_ai_pattern and t.trailer_value like 'p\\_%' escape '\\'""").fetchall()
    assert set(bots) <= {("dependabot[bot]",), ("renovate[bot]",)} and bots
    assert ai[0][0] > 0


def test_fake_api_requires_a_token(server):
    import requests

    assert requests.get(f"{server.url}/repos/acme/ledger/pulls", timeout=5).status_code == 401
    ok = requests.get(f"{server.url}/repos/acme/ledger/pulls?state=all&sort=updated&direction=desc",
                      headers={"Authorization": "token abc"}, timeout=5)
    assert ok.status_code == 200 and ok.json()


def test_generator_is_deterministic_and_plants_ai_adoption(tmp_path):
    world = build_world(scale=0.05, anchor=date(2026, 10, 1))
    first = github_data.write(world, tmp_path / "a")
    second = github_data.write(world, tmp_path / "b")
    assert first == second
    for path in (tmp_path / "a").rglob("*.jsonl"):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()
    prs = [json.loads(line) for line in (tmp_path / "a/acme/mobile-app/pulls.jsonl").read_text().splitlines()]
    after = [p for p in prs if p["created_at"] >= world.midpoint.strftime("%Y-%m-%dT%H:%M:%SZ")]
    labelled = [p for p in after if {"name": "ai-assisted"} in p["labels"]]
    assert after and len(labelled) / len(after) > 0.5


def test_a_misspelled_repository_is_skipped_and_reported_and_the_others_land(server, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__GITHUB__REPOSITORIES", ",".join([REPOS[0], "acme/chekout-web", REPOS[1]]))

    landed = run_load(sample)

    assert table_counts(tmp_path) == sample_counts(sample, REPOS)
    assert len(landed.skipped) == 1
    assert "acme/chekout-web" in landed.skipped[0] and "HTTP 404" in landed.skipped[0]
    assert "pull requests, deployments" in landed.skipped[0]
    # on every run, as long as it is configured
    assert len(run_load(sample).skipped) == 1


def test_a_repository_without_access_is_skipped_and_lands_once_access_is_granted(server, sample, tmp_path):
    server.faults.add(r"^/repos/acme/mobile-app/", "403", times=-1)

    landed = run_load(sample)

    assert table_counts(tmp_path) == sample_counts(sample, REPOS[:1])
    assert [line.split(":")[0] for line in landed.skipped] == ["github repository acme/mobile-app"]
    assert "HTTP 403" in landed.skipped[0]

    server.faults.clear()
    assert run_load(sample).skipped == []
    assert table_counts(tmp_path) == sample_counts(sample, REPOS)  # its cursors had stayed


def test_a_403_on_a_later_page_still_fails_the_run_atomically(server, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "3")
    server.faults.add(r"^/repos/acme/mobile-app/pulls\?", "403", times=-1, skip=1)
    with pytest.raises(ApiError, match=r"HTTP 403"):
        run_load(sample)
