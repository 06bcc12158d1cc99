"""The GitHub loader over real HTTP against the local sample API server, into a real DuckDB file.

Pull requests come over GraphQL (POST /graphql) by default; `SOURCES__GITHUB__API=rest` selects the REST path,
which `test_graphql_lands_exactly_what_rest_lands` loads beside it to compare every landed row."""

from __future__ import annotations

import json
import math
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


def pr_total(sample: Path, repos: list[str]) -> int:
    return sum(len((sample / "github" / repo / "pulls.jsonl").read_text().splitlines()) for repo in repos)


def operations(server) -> dict[str, int]:
    return dict(server.github_usage["graphql_operations"])


def test_full_load_pages_prs_over_graphql_and_lands_every_record(server, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "3")
    landed = run_load(sample)

    expected = sample_counts(sample, REPOS)
    assert table_counts(tmp_path) == expected
    assert {k: landed[k] for k in expected} == expected
    pages = sum(math.ceil(pr_total(sample, [repo]) / 3) for repo in REPOS)
    assert operations(server)["PullRequests"] == pages > 6
    assert server.requests_matching(r"^/repos/[^/]+/[^/]+/(pulls|issues)") == []  # no REST for pull requests
    assert query(tmp_path, "select count(*) from raw_github.pull_requests where additions is null") == [(0,)]


def test_nested_connections_that_overflow_their_first_page_are_followed_to_the_end(
    server, sample, tmp_path, monkeypatch
):
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "5")
    monkeypatch.setenv("SOURCES__GITHUB__NESTED_PER_PAGE", "1")  # every second review, comment, commit, label

    run_load(sample)

    assert table_counts(tmp_path) == sample_counts(sample, REPOS)
    ops = operations(server)
    for name in ("PullRequestReviews", "PullRequestComments", "PullRequestCommits", "PullRequestLabels"):
        assert ops.get(name, 0) > 0, ops
    prs = [json.loads(line) for repo in REPOS for line in (sample / "github" / repo / "pulls.jsonl").open()]
    assert ops["PullRequestCommits"] == sum(max(0, len(pr["_commits"]) - 1) for pr in prs)
    labels = query(tmp_path, "select count(*) from raw_github.pr_labels where label <> ''")[0][0]
    assert labels == sum(len(pr["labels"]) for pr in prs)


def test_incremental_rerun_fetches_only_changed_prs_and_counts_stay_exact(server, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "10")  # several pages per repository
    run_load(sample)
    before = table_counts(tmp_path)
    store = server.apis["github"]
    reviewer = {"login": "someone-else", "id": 77, "type": "User"}
    store.touch_pull("acme/checkout-web", 3, review={"user": reviewer, "state": "APPROVED"})
    store.touch_pull("acme/mobile-app", 5, comment=True, title="Renamed")
    ops_before = operations(server)
    landed = run_load(sample)

    ops = operations(server)
    assert ops["PullRequests"] - ops_before["PullRequests"] == 2  # one page per repository: stopped at the cursor
    assert landed["_github_prs"] == 2
    after = table_counts(tmp_path)
    assert after == before | {"reviews": before["reviews"] + 1, "pr_comments": before["pr_comments"] + 1}
    assert query(tmp_path, "select title from raw_github.pull_requests where repository = 'acme/mobile-app' "
                           "and number = 5") == [("Renamed",)]

    again = run_load(sample)
    assert again["_github_prs"] == 0 and operations(server)["PullRequests"] == ops["PullRequests"] + 2
    assert table_counts(tmp_path) == after  # re-running duplicates nothing


def test_429_with_retry_after_is_honoured_and_transient_500s_and_truncated_pages_are_retried(
    server, sample, tmp_path, monkeypatch
):
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "5")
    too_many = server.faults.add(r"^/graphql", "429", times=1, retry_after=2)
    broken = server.faults.add(r"^/graphql", "500", times=2)
    cut = server.faults.add(r"^/graphql", "truncated", times=1, skip=3)
    rest = server.faults.add(r"^/repos/acme/checkout-web/deployments\?", "502", times=1)
    started = time.time()

    run_load(sample)

    assert too_many.hits == 1 and broken.hits == 2 and cut.hits == 1 and rest.hits == 1
    assert time.time() - started >= 2
    assert table_counts(tmp_path) == sample_counts(sample, REPOS)


def test_rate_limit_is_waited_out_until_the_reset_time(server, sample, tmp_path, monkeypatch):
    """REST answers 403 with x-ratelimit-remaining 0; GraphQL answers HTTP 200 with a RATE_LIMITED error."""
    monkeypatch.setenv("SOURCES__GITHUB__REPOSITORY_WORKERS", "1")  # one request to a path at a time
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
    server.faults.add(r"^/graphql", "500", times=-1)

    with pytest.raises(ApiError, match=r"/graphql failed with HTTP 500"):
        run_load(sample)
    assert table_counts(tmp_path) == before

    server.faults.clear()
    landed = run_load(sample)
    assert landed["_github_prs"] == 1
    assert table_counts(tmp_path) == before | {"pr_comments": before["pr_comments"] + 1}


def test_a_page_that_stays_truncated_fails_loudly_and_keeps_what_landed(server, sample, tmp_path):
    run_load(sample)
    before = table_counts(tmp_path)
    server.apis["github"].touch_pull("acme/checkout-web", 4, comment=True)
    server.faults.add(r"^/graphql", "truncated", times=-1)

    with pytest.raises(ApiError, match=r"/graphql returned malformed JSON"):
        run_load(sample)
    assert table_counts(tmp_path) == before

    server.faults.clear()
    run_load(sample)
    assert table_counts(tmp_path) == before | {"pr_comments": before["pr_comments"] + 1}


def test_a_graphql_errors_answer_fails_with_a_clear_error(server, sample, tmp_path):
    store = server.apis["github"]
    store.fail_graphql("Something went wrong while executing your query. This may be the result of a timeout.")

    with pytest.raises(ApiError, match=r"PullRequests .*GraphQL errors: ERROR at -: Something went wrong"):
        run_load(sample)

    store.fail_graphql("Parse error on \"}\" (RCURLY)", type_="INTERNAL")
    with pytest.raises(github.GraphQLError, match=r"INTERNAL at -: Parse error"):
        run_load(sample)
    run_load(sample)
    assert table_counts(tmp_path) == sample_counts(sample, REPOS)


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
    assert requests.post(f"{server.url}/graphql", json={"query": "query PullRequests { x }"},
                         timeout=5).status_code == 401
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
    store = server.apis["github"]
    store.deny("acme/mobile-app", 403)  # REST: HTTP 403; GraphQL: a FORBIDDEN error on `repository`

    landed = run_load(sample)

    assert table_counts(tmp_path) == sample_counts(sample, REPOS[:1])
    assert [line.split(":")[0] for line in landed.skipped] == ["github repository acme/mobile-app"]
    assert "HTTP 403" in landed.skipped[0] and "GraphQL FORBIDDEN" in landed.skipped[0]

    store.allow("acme/mobile-app")
    assert run_load(sample).skipped == []
    assert table_counts(tmp_path) == sample_counts(sample, REPOS)  # its cursors had stayed


def test_a_403_on_a_later_page_still_fails_the_run_atomically(server, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "3")
    server.faults.add(r"^/repos/acme/mobile-app/deployments\?", "403", times=-1, skip=1)
    with pytest.raises(ApiError, match=r"deployments.*HTTP 403"):
        run_load(sample)
    server.faults.clear()
    server.faults.add(r"^/graphql", "403", times=-1, skip=1)  # HTTP 403 on GraphQL is no repository's answer
    with pytest.raises(ApiError, match=r"/graphql failed with HTTP 403"):
        run_load(sample)
    if (tmp_path / "wh.duckdb").exists():  # nothing of either run landed
        assert query(tmp_path, "select count(*) from information_schema.tables where table_schema = 'raw_github' "
                               "and table_name not like '\\_dlt%' escape '\\'") == [(0,)]


RAW_TABLES = ["pull_requests", "pr_labels", "reviews", "pr_comments", "pr_commits", "pr_commit_trailers",
              "deployments", "deployment_statuses", "workflow_runs"]


def landed_rows(path: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        out = {}
        for table in RAW_TABLES:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'raw_github' and "
                "table_name = ? and column_name not like '\\_dlt%' escape '\\' order by column_name",
                [table]).fetchall()]
            cols = ", ".join(f'"{c}"' for c in columns)
            out[table] = [tuple(columns)] + con.execute(
                f"select {cols} from raw_github.{table} order by all").fetchall()
        return out


def test_graphql_lands_exactly_what_rest_lands(server, sample, tmp_path, monkeypatch):
    """Same raw tables, columns and values as the REST loader, for every PR, review, comment, commit and trailer
    (bots, co-authors, AI trailers and GitHub-committed commits included)."""
    repos = ["acme/checkout-web", "acme/mobile-app", "acme/infra-live", "acme/ledger"]
    monkeypatch.setenv("SOURCES__GITHUB__REPOSITORIES", ",".join(repos))
    monkeypatch.setenv("SOURCES__GITHUB__API", "rest")
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(tmp_path / "rest.duckdb"))
    monkeypatch.setenv("FLOWMART_PIPELINES_DIR", str(tmp_path / "rest-pipelines"))
    by_rest = run_load(sample)
    assert server.github_usage["graphql_requests"] == 0

    monkeypatch.setenv("SOURCES__GITHUB__API", "graphql")
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(tmp_path / "graphql.duckdb"))
    monkeypatch.setenv("FLOWMART_PIPELINES_DIR", str(tmp_path / "graphql-pipelines"))
    by_graphql = run_load(sample)

    rest_rows, graphql_rows = landed_rows(tmp_path / "rest.duckdb"), landed_rows(tmp_path / "graphql.duckdb")
    for table in RAW_TABLES:
        assert graphql_rows[table] == rest_rows[table], table
    assert {t: by_graphql[t] for t in RAW_TABLES} == {t: by_rest[t] for t in RAW_TABLES}
    expected = sample_counts(sample, repos)
    assert {t: by_graphql[t] for t in expected} == expected
    assert by_graphql["pr_commit_trailers"] > 0 and by_graphql["workflow_runs"] > 0
    bots = [r for r in graphql_rows["pr_commits"][1:] if r[graphql_rows["pr_commits"][0].index("author_is_bot")]]
    assert bots  # bot commits: GraphQL links no Bot to a commit; the bot's noreply e-mail names it
    # the budget: what the server charged by GitHub's formula is what the loader counted
    usage = server.github_usage
    assert by_graphql["_github_graphql_points"] == usage["graphql_points"]
    assert by_graphql["_github_graphql_queries"] == usage["graphql_requests"]
    assert by_rest["_github_rest_requests"] > 4 * by_rest["_github_prs"]
    assert by_graphql["_github_prs_per_rate_limit_hour"] > 10 * by_rest["_github_prs_per_rate_limit_hour"]


def test_graphql_cost_follows_githubs_formula():
    from pipelines.sample.github_api import graphql_cost

    # GitHub's documented example: 1 + 100 + 5,000 requests = 5,101 -> 51 points
    assert graphql_cost("query { viewer { login repositories(first: 100) { edges { node { id issues(first: 50) { "
                        "edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } }"
                        ) == (51, 5101)
    page = {"owner": "o", "name": "n", "after": None, "nested": 100}
    assert graphql_cost(github.PULL_REQUESTS_QUERY, page | {"first": 37}) == (1, 149)
    assert graphql_cost(github.PULL_REQUESTS_QUERY, page | {"first": 38}) == (2, 153)
    assert graphql_cost(github.COMMIT_PARENTS_QUERY, {"ids": ["x"] * 100, "more": ["y"] * 49}) == (1, 149)
    assert graphql_cost(github.CONNECTION_QUERIES["commits"], {"id": "x", "first": 100}) == (1, 1)


def test_usage_is_served_for_benchmarks(server, sample):
    import requests

    run_load(sample)
    usage = requests.get(f"{server.url}/_control/usage", timeout=5).json()
    assert usage["graphql_points"] == server.github_usage["graphql_points"] > 0
    assert usage["rest_requests"] > 0 and usage["requests"] == usage["rest_requests"] + usage["graphql_requests"]


def test_a_spent_graphql_budget_stops_every_repository_until_the_reset(server, sample, tmp_path, monkeypatch):
    """The loader reads the budget from each answer: once it is spent, no thread sends another query; a reset
    further away than max_rate_limit_wait fails the run, naming it."""
    monkeypatch.setenv("SOURCES__GITHUB__MAX_RATE_LIMIT_WAIT", "5")
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "3")
    store = server.apis["github"]
    store.points_limit = 4  # the server's hour resets in ~3,600 s

    with pytest.raises(ApiError, match=r"graphql rate limit spent \(0 left\); it resets in \d+ s"):
        run_load(sample)
    # the queries in flight when the budget ran out answered; none was sent after
    assert store.usage()["graphql_requests"] <= 4 + 1


def test_commit_parents_take_149_commits_in_two_node_lists_for_one_point(server, sample):
    import requests

    from pipelines.sample.github_api import commit_node_id

    prs = [json.loads(line) for line in (sample / "github" / "acme/ledger/pulls.jsonl").open()]
    ids = [commit_node_id("acme/ledger", c["sha"]) for pr in prs for c in pr["_commits"]]
    ids = (ids * (149 // len(ids) + 1))[:149]  # the small sample has fewer: GitHub answers repeated ids too
    answer = requests.post(f"{server.url}/graphql", headers={"Authorization": "Bearer t"}, timeout=10, json={
        "query": github.COMMIT_PARENTS_QUERY, "variables": {"ids": ids[:100], "more": ids[100:]}}).json()
    assert "errors" not in answer
    data = answer["data"]
    assert len(data["nodes"]) == 100 and len(data["more"]) == 49
    assert data["rateLimit"]["cost"] == 1
    first = data["nodes"][0]
    assert first["parents"]["totalCount"] == 1 and len(first["parents"]["nodes"][0]["oid"]) == 40
