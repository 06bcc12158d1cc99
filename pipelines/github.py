"""GitHub loader (base URL configurable for GitHub Enterprise): pull requests with their labels, reviews,
issue comments and commits (GraphQL API), deployments with their statuses and, optionally, deployment
workflow runs (REST API).

Pull requests come from GitHub's GraphQL API (`POST /graphql`), a page of PRs at a time (newest-updated
first) with their labels, reviews, comments and commits nested; a nested connection that overflows its first
page is read to the end with its own paginated query, and the commits' parents come in batches by node id.
Each query's cost (`rateLimit { cost remaining resetAt limit }`, GitHub's formula) is counted: a page of 37
PRs costs 1 point, a batch of up to 149 commits' parents 1 point, so ~90,000 PRs land per rate-limit hour
(5,000 points) where REST's four requests per PR landed ~1,000. Repositories load concurrently
(`repository_workers`) on one shared budget: every answer's `x-ratelimit-remaining`/`-reset` headers (and the
GraphQL `rateLimit`) are read, and when the budget is spent every thread waits for the reset. `load()` reports
the points, queries and REST requests spent and the PRs per rate-limit hour (`_github_*` keys, and the log).
`api = "rest"` reads pull requests over REST instead (about four requests per PR); both land the same rows.

Tables in `raw_github` (resource names = table names unless said):
- `pull_requests` (merge on `pr_id`): incremental per repository on `updated_at`; the list is read
  newest-updated first and paging stops at the cursor.
- `pr_labels`: the PR's labels (one row with an empty label when it has none), replaced per PR.
- `reviews`, `pr_comments`, `pr_commits`: fetched for each new or changed PR, replaced per PR
  (delete-insert on `pr_id`). `pr_commits` also writes `pr_commit_trailers` (parsed `Key: value`
  trailers; person values hashed, `matches_ai_pattern` computed before hashing).
- `deployments` (merge on `deployment_id`) and `deployment_statuses` (replaced per deployment): new or
  changed (by `updated_at`) deployments within a look-back window of the newest one already seen.
- `workflow_runs` (merge on `run_id`): only when `deployment_workflow_pattern` is configured; runs whose
  workflow name matches it (teams that deploy with GitHub Actions).

People: logins and e-mails are pseudonymised (`*_id` columns), names are dropped, head branch names
(which often carry a login) are not landed. `*_is_bot` is true for `type: Bot` users and configured bot
names; `*_bot_name` keeps a bot's login (bots are not people).

One repository never blocks the others: a repository whose list endpoint answers 404 (misspelled, or
invisible to the token) or 403 (no access) on its first page (over GraphQL: a NOT_FOUND or FORBIDDEN error on
`repository`) is skipped for that table, the others land, its cursors stay, and `load()` names it in
`skipped` (the run's summary and exit code 3 report it).

Otherwise a run is atomic: if a request stays broken (after dlt's retries on 429/5xx/malformed JSON and the
rate-limit waits below) or a GraphQL answer carries other `errors` (`GraphQLError`, naming the operation and
each error), the run fails naming the URL, nothing of it lands and cursors stay where they were, so the next
run resumes. GitHub rate limits (403/429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`, a
`Retry-After` on a 403 secondary limit, or GraphQL's HTTP 200 with a RATE_LIMITED error) are waited out, up
to `max_rate_limit_wait` seconds per wait.

Settings (dlt config/secrets or env): `SOURCES__GITHUB__ACCESS_TOKEN` (required),
`SOURCES__GITHUB__BASE_URL` (default https://api.github.com; GitHub Enterprise: https://<host>/api/v3),
`SOURCES__GITHUB__REPOSITORIES` (JSON list or comma-separated owner/name; overrides the org config's
`github.repositories`), `SOURCES__GITHUB__PER_PAGE` (default 100), `SOURCES__GITHUB__WORKERS` (parallel
requests, default 8), `SOURCES__GITHUB__MAX_RATE_LIMIT_WAIT` (seconds, default 3600),
`SOURCES__GITHUB__LOOKBACK_DAYS` (deployments/workflow runs re-checked, default 14), `SOURCES__GITHUB__API`
(`graphql`, default, or `rest`: how pull requests are read), `SOURCES__GITHUB__REPOSITORY_WORKERS`
(repositories read at once over GraphQL, default 4), `SOURCES__GITHUB__NESTED_PER_PAGE` (page size of a PR's
nested connections, default 100). GraphQL pages hold min(per_page, 37) PRs.
Run it with `flowmart load github` or `python -m pipelines.github`.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.http import ApiClient, ApiError
from pipelines.loadresult import LoadCounts
from pipelines.orgconfig import OrgConfig
from pipelines.privacy import Pseudonymiser
from pipelines.settings import make_pipeline, row_counts

log = logging.getLogger("flowmart.github")

DEFAULT_BASE_URL = "https://api.github.com"
HOURLY_BUDGET = 5000  # GitHub's budget for a user's token: REST requests, GraphQL points, per hour
DEFAULT_BOT_NAMES = ("dependabot[bot]", "renovate[bot]", "github-actions[bot]")
DEFAULT_AI_PATTERNS = (r"(?i)^co-authored-by:.*(copilot|claude|cursor|codex|gemini)",)
PERSON_TRAILERS = {"co-authored-by", "signed-off-by", "reviewed-by", "acked-by", "tested-by", "reported-by",
                   "suggested-by", "helped-by", "cc"}
TRAILER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):\s+(.+?)\s*$")
IDENTITY = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")

T, B, TS, TXT = "bigint", "bool", "timestamp", "text"


def _cols(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"data_type": t, "nullable": True} for name, t in types.items()}


PR_COLUMNS = _cols(
    pr_id=T, repository=TXT, number=T, state=TXT, title=TXT, is_draft=B, author_id=TXT, author_is_bot=B,
    author_bot_name=TXT, created_at=TS, updated_at=TS, closed_at=TS, merged_at=TS, merge_commit_sha=TXT,
    head_sha=TXT, base_ref=TXT, labels=TXT, additions=T, deletions=T, changed_files=T, commit_count=T,
    merged_by_id=TXT, html_url=TXT,
)
LABEL_COLUMNS = _cols(pr_id=T, label=TXT)
REVIEW_COLUMNS = _cols(
    review_id=T, pr_id=T, repository=TXT, pr_number=T, reviewer_id=TXT, reviewer_is_bot=B,
    reviewer_bot_name=TXT, state=TXT, submitted_at=TS, commit_sha=TXT,
)
COMMENT_COLUMNS = _cols(
    comment_id=T, pr_id=T, repository=TXT, pr_number=T, commenter_id=TXT, commenter_is_bot=B,
    commenter_bot_name=TXT, created_at=TS, updated_at=TS,
)
COMMIT_COLUMNS = _cols(
    pr_id=T, sha=TXT, repository=TXT, pr_number=T, commit_order=T, author_id=TXT, author_email_id=TXT,
    author_is_bot=B, committer_id=TXT, authored_at=TS, committed_at=TS, parent_count=T, first_parent_sha=TXT,
    trailer_count=T, has_ai_trailer=B,
)
TRAILER_COLUMNS = _cols(
    pr_id=T, sha=TXT, trailer_order=T, trailer_key=TXT, trailer_value=TXT, is_person=B, matches_ai_pattern=B,
)
DEPLOYMENT_COLUMNS = _cols(
    deployment_id=T, repository=TXT, sha=TXT, ref=TXT, task=TXT, environment=TXT, is_production=B,
    is_transient=B, created_at=TS, updated_at=TS, creator_id=TXT, creator_is_bot=B, creator_bot_name=TXT,
)
STATUS_COLUMNS = _cols(
    status_id=T, deployment_id=T, repository=TXT, state=TXT, environment=TXT, created_at=TS, updated_at=TS,
    creator_id=TXT, creator_is_bot=B,
)
RUN_COLUMNS = _cols(
    run_id=T, repository=TXT, workflow_name=TXT, workflow_id=T, workflow_path=TXT, head_branch=TXT,
    head_sha=TXT, event=TXT, status=TXT, conclusion=TXT, run_attempt=T, created_at=TS, updated_at=TS,
    run_started_at=TS, actor_id=TXT, actor_is_bot=B, actor_bot_name=TXT,
)


# --- HTTP ----------------------------------------------------------------------------------------


def rate_limit_wait(response: Any, now: float | None = None) -> float | None:
    """Seconds to wait before retrying a rate-limited GitHub response, or None if it is not one."""
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("Retry-After", "")
    if retry_after.strip().isdigit():
        return float(retry_after)
    reset = response.headers.get("x-ratelimit-reset", "")
    if response.headers.get("x-ratelimit-remaining") == "0" and reset.strip().isdigit():
        return max(0.0, int(reset) - (now or time.time())) + 1.0
    return None


class _RateLimitAware:
    """Wraps dlt's retrying client: a GitHub rate-limit answer is waited out, then the request resent."""

    def __init__(self, client: Any, max_wait: float, max_waits: int = 5) -> None:
        self._client = client
        self.max_wait = max_wait
        self.max_waits = max_waits
        self.waited = 0.0

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        for _ in range(self.max_waits):
            response = self._client.request(method, url, **kwargs)
            wait = rate_limit_wait(response)
            if wait is None:
                return response
            if wait > self.max_wait:
                raise ApiError(
                    f"{method} {url}: GitHub rate limit exhausted (HTTP {response.status_code}); it resets in "
                    f"{wait:.0f} s, longer than sources.github.max_rate_limit_wait ({self.max_wait:.0f} s)"
                )
            log.warning("github: rate limited on %s (HTTP %s); waiting %.1f s", url, response.status_code, wait)
            time.sleep(wait)
            self.waited += wait
        return self._client.request(method, url, **kwargs)


class GraphQLError(ApiError):
    """A GraphQL answer with `errors` (HTTP 200): the message names the operation and every error."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


class RateBudget:
    """GitHub's rate-limit budgets as the answers report them: `x-ratelimit-remaining/-reset/-resource` headers
    (REST "core", and "graphql" on GraphQL answers) and GraphQL's `rateLimit { cost remaining resetAt limit }`.
    Counts the GraphQL points spent; before a request, waits for the reset when the budget is spent (the
    repositories' threads share it, so they spend one budget)."""

    def __init__(self, max_wait: float, reserve: int = 1) -> None:
        self.max_wait = max_wait
        self.reserve = reserve
        self._lock = threading.Lock()
        self.remaining: dict[str, int] = {}
        self.reset: dict[str, float] = {}
        self.limit: dict[str, int] = {}
        self.points = 0  # GraphQL points spent (sum of rateLimit.cost)
        self.queries = 0  # GraphQL requests answered

    def observe(self, response: Any, rate: dict[str, Any] | None = None) -> None:
        headers = response.headers
        resource = headers.get("x-ratelimit-resource") or ("graphql" if rate is not None else "core")
        with self._lock:
            if str(headers.get("x-ratelimit-remaining", "")).isdigit():
                self.remaining[resource] = int(headers["x-ratelimit-remaining"])
            if str(headers.get("x-ratelimit-reset", "")).isdigit():
                self.reset[resource] = float(headers["x-ratelimit-reset"])
            if rate:
                self.queries += 1
                self.points += int(rate.get("cost") or 0)
                if rate.get("remaining") is not None:
                    self.remaining["graphql"] = int(rate["remaining"])
                if rate.get("limit") is not None:
                    self.limit["graphql"] = int(rate["limit"])
                if rate.get("resetAt"):
                    self.reset["graphql"] = _ts(rate["resetAt"]).timestamp()

    def wait_for(self, resource: str) -> None:
        """Before a request: if the budget is spent (remaining below the reserve), wait for its reset."""
        with self._lock:
            remaining, reset = self.remaining.get(resource), self.reset.get(resource)
        if remaining is None or remaining >= self.reserve or reset is None:
            return
        wait = reset - time.time() + 1.0
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise ApiError(f"GitHub {resource} rate limit spent ({remaining} left); it resets in {wait:.0f} s, longer "
                           f"than sources.github.max_rate_limit_wait ({self.max_wait:.0f} s)")
        log.warning("github: %s rate limit spent (%d left); waiting %.1f s for the reset", resource, remaining, wait)
        time.sleep(wait)
        with self._lock:
            self.remaining.pop(resource, None)


def graphql_url(base_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST base URL: https://api.github.com/graphql; GitHub Enterprise Server
    https://<host>/api/graphql for https://<host>/api/v3."""
    base = base_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


class GitHubClient(ApiClient):
    """`ApiClient` with GitHub's headers, token auth, rate-limit waits, Link-header pagination and GraphQL."""

    def __init__(self, base_url: str, token: str, max_rate_limit_wait: float = 3600) -> None:
        super().__init__(base_url, headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }, auth_hint="check the access token: SOURCES__GITHUB__ACCESS_TOKEN must be a valid, unexpired GitHub token")
        self._client = _RateLimitAware(self._client, max_rate_limit_wait)
        self.graphql_url = graphql_url(base_url)
        self.budget = RateBudget(max_rate_limit_wait)

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Any]:
        data, response = super().request(method, path, **kwargs)
        if not path.endswith("/graphql"):
            self.budget.observe(response)
        return data, response

    def graphql(self, query: str, variables: dict[str, Any], allow: Callable[[dict[str, Any]], bool] | None = None,
                max_waits: int = 5) -> dict[str, Any]:
        """POST a GraphQL query; returns its `data`. A RATE_LIMITED answer (HTTP 200, `x-ratelimit-remaining: 0`)
        is waited out until `x-ratelimit-reset`, then resent; other `errors` raise `GraphQLError` naming the
        operation and the errors, unless `allow(error)` accepts every one (the caller handles them)."""
        named = re.match(r"\s*query\s+(\w+)", query)
        operation = named.group(1) if named else "query"
        for attempt in range(max_waits + 1):
            self.budget.wait_for("graphql")
            data, response = self.post(self.graphql_url, {"query": query, "variables": variables})
            if not isinstance(data, dict) or ("data" not in data and "errors" not in data):
                raise GraphQLError(f"POST {self.graphql_url} ({operation}): not a GraphQL answer: {str(data)[:200]!r}",
                                   [])
            rate = (data.get("data") or {}).get("rateLimit") or {}
            self.budget.observe(response, rate or {"cost": 0})
            errors = data.get("errors") or []
            limited = [e for e in errors if e.get("type") == "RATE_LIMITED"]
            if limited and attempt < max_waits:
                reset = response.headers.get("x-ratelimit-reset", "")
                wait = max(0.0, int(reset) - time.time()) + 1.0 if reset.isdigit() else 60.0
                if wait > self.budget.max_wait:
                    raise GraphQLError(
                        f"POST {self.graphql_url} ({operation}): GitHub GraphQL rate limit exhausted; it resets in "
                        f"{wait:.0f} s, longer than sources.github.max_rate_limit_wait ({self.budget.max_wait:.0f} s)",
                        errors)
                log.warning("github: GraphQL rate limited (%s); waiting %.1f s", limited[0].get("message"), wait)
                time.sleep(wait)
                continue
            if errors and not (allow and all(allow(e) for e in errors)):
                described = "; ".join(
                    f"{e.get('type') or 'ERROR'} at {'.'.join(map(str, e.get('path') or [])) or '-'}: "
                    f"{e.get('message')}" for e in errors[:5])
                raise GraphQLError(f"POST {self.graphql_url} ({operation} {json.dumps(variables)[:200]}) answered "
                                   f"GraphQL errors: {described}", errors)
            return data.get("data") or {}
        raise AssertionError("unreachable")

    def pages(self, path: str, params: dict[str, Any] | None = None, key: str | None = None) -> Iterator[list]:
        """Every page of a list endpoint, following `Link: <…>; rel="next"`."""
        url: str | None = path
        while url:
            data, response = self.get(url, params)
            params = None  # the next link carries the query
            yield (data.get(key) or []) if key else data
            url = response.links.get("next", {}).get("url")

    def all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        return [item for page in self.pages(path, params) for item in page]


# --- rows ----------------------------------------------------------------------------------------


class _People:
    def __init__(self, pseudonymise: Callable[[str | None], str | None], bot_names: Sequence[str]) -> None:
        self.pseudonymise = pseudonymise
        self.bot_names = {b.lower() for b in bot_names}

    def user(self, user: dict[str, Any] | None) -> tuple[str | None, bool | None, str | None]:
        """(pseudonym, is_bot, bot login) of a GitHub user object."""
        if not user or not user.get("login"):
            return None, None, None
        login = user["login"]
        is_bot = user.get("type") == "Bot" or login.lower() in self.bot_names or login.endswith("[bot]")
        return self.pseudonymise(login.lower()), is_bot, (login if is_bot else None)


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """`Key: value` lines of the last paragraph of a commit message (git's trailer block)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", (message or "").strip()) if p.strip()]
    if len(paragraphs) < 2:
        return []
    found = []
    for line in paragraphs[-1].splitlines():
        m = TRAILER.match(line.strip())
        if m:
            found.append((m.group(1), m.group(2)))
    return found


# --- GraphQL -------------------------------------------------------------------------------------
# Pull requests come from GitHub's GraphQL API: one query per page of PRs carries each PR's labels, reviews,
# issue comments and commits (a connection that overflows its first page is followed with its own paginated
# query); the commits' parents come in batches by node id. GitHub charges a query the connections it needs:
# 1 for the page of PRs + 1 per PR per nested connection (no connection is nested under them, so their own
# `first` costs nothing), and 1 per commit for its parents: the parents come in separate batches of up to 149
# commits (1 point each) rather than nested under the PRs' commits, which would cost 1 per commit slot asked for.

PAGE_INFO = "pageInfo { hasNextPage endCursor }"
RATE_LIMIT_FIELDS = "rateLimit { cost remaining resetAt limit }"
ACTOR = "{ __typename login }"
GIT_ACTOR = "{ email date user { login } }"
PR_FIELDS = (
    "id databaseId number state title isDraft url createdAt updatedAt closedAt mergedAt additions deletions "
    f"changedFiles headRefOid baseRefName author {ACTOR} mergedBy {ACTOR} mergeCommit {{ oid }}"
)
NESTED_FIELDS = {  # PullRequest connection -> fields of its nodes
    "labels": "name",
    "reviews": f"databaseId state submittedAt author {ACTOR} commit {{ oid }}",
    "comments": f"databaseId createdAt updatedAt author {ACTOR}",
    "commits": f"commit {{ id oid message author {GIT_ACTOR} committer {GIT_ACTOR} }}",
}
PULL_REQUESTS_QUERY = (
    "query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String, $nested: Int!) {\n"
    f"  {RATE_LIMIT_FIELDS}\n"
    "  repository(owner: $owner, name: $name) {\n"
    "    pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {\n"
    f"      {PAGE_INFO}\n"
    f"      nodes {{ {PR_FIELDS}\n"
    + "".join(f"        {name}(first: $nested) {{ totalCount {PAGE_INFO} nodes {{ {fields} }} }}\n"
              for name, fields in NESTED_FIELDS.items())
    + "      }\n    }\n  }\n}"
)
CONNECTION_QUERIES = {  # the rest of one PR's connection, page by page
    name: (
        f"query PullRequest{name.title()}($id: ID!, $first: Int!, $after: String) {{\n"
        f"  {RATE_LIMIT_FIELDS}\n"
        f"  node(id: $id) {{ ... on PullRequest {{ {name}(first: $first, after: $after) {{ totalCount {PAGE_INFO} "
        f"nodes {{ {fields} }} }} }} }}\n}}"
    )
    for name, fields in NESTED_FIELDS.items()
}
PARENTS = "... on Commit { id parents(first: 1) { totalCount nodes { oid } } }"
COMMIT_PARENTS_QUERY = (
    "query CommitParents($ids: [ID!]!, $more: [ID!]!) {\n"
    f"  {RATE_LIMIT_FIELDS}\n"
    f"  nodes(ids: $ids) {{ {PARENTS} }}\n"
    f"  more: nodes(ids: $more) {{ {PARENTS} }}\n}}"
)
# A page of P PRs needs 1 + 4 * P connections: 37 is the largest page that costs 1 point (149 / 100 rounds to 1;
# 38 PRs cost 2, 100 PRs 4), so pages of 37 land the most PRs per point.
GRAPHQL_PR_PAGE = 37
PARENTS_PER_QUERY = 149  # 149 parents connections = round(1.49) = 1 point; `nodes(ids:)` takes up to 100
BOT_EMAIL = re.compile(r"^\d+\+([^@\s]+\[bot\])@users\.noreply\.github\.com$", re.IGNORECASE)
GITHUB_COMMITTER_EMAIL = "noreply@github.com"  # GitHub committing for someone (web edits, bot commits)


def _rest_user(actor: dict[str, Any] | None) -> dict[str, Any] | None:
    """A GraphQL Actor as the REST user object the row code reads (GraphQL's Bot logins lack "[bot]")."""
    if not actor or not actor.get("login"):
        return None
    if actor.get("__typename") == "Bot":
        login = actor["login"]
        return {"login": login if login.endswith("[bot]") else f"{login}[bot]", "type": "Bot"}
    return {"login": actor["login"], "type": "User"}


def _git_actor_user(git_actor: dict[str, Any]) -> dict[str, Any] | None:
    """The GitHub account of a GitActor: its `user`, else the bot its noreply e-mail names (GraphQL links no Bot)."""
    user = git_actor.get("user")
    if user and user.get("login"):
        return {"login": user["login"], "type": "User"}
    bot = BOT_EMAIL.match(git_actor.get("email") or "")
    return {"login": bot.group(1), "type": "Bot"} if bot else None


def rest_pull(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL PullRequest node as the REST pull request the row code reads."""
    return {
        "id": node["databaseId"], "number": node["number"], "state": "open" if node["state"] == "OPEN" else "closed",
        "title": node.get("title"), "draft": node.get("isDraft"), "user": _rest_user(node.get("author")),
        "created_at": node["createdAt"], "updated_at": node["updatedAt"], "closed_at": node.get("closedAt"),
        "merged_at": node.get("mergedAt"), "merge_commit_sha": (node.get("mergeCommit") or {}).get("oid"),
        "head": {"sha": node.get("headRefOid")}, "base": {"ref": node.get("baseRefName")},
        "labels": node["labels"]["nodes"], "additions": node.get("additions"), "deletions": node.get("deletions"),
        "changed_files": node.get("changedFiles"), "commits": node["commits"]["totalCount"],
        "merged_by": _rest_user(node.get("mergedBy")), "html_url": node.get("url"),
    }


def rest_review(node: dict[str, Any]) -> dict[str, Any]:
    return {"id": node["databaseId"], "user": _rest_user(node.get("author")), "state": node.get("state"),
            "submitted_at": node.get("submittedAt"), "commit_id": (node.get("commit") or {}).get("oid")}


def rest_comment(node: dict[str, Any]) -> dict[str, Any]:
    return {"id": node["databaseId"], "user": _rest_user(node.get("author")), "created_at": node.get("createdAt"),
            "updated_at": node.get("updatedAt")}


def rest_commit(node: dict[str, Any], parents: tuple[int, str | None]) -> dict[str, Any]:
    """A PullRequestCommit node (and its (parent count, first parent)) as the REST PR commit the row code reads."""
    commit = node["commit"]
    author, committer = commit.get("author") or {}, commit.get("committer") or {}
    author_user, committer_user = _git_actor_user(author), _git_actor_user(committer)
    if committer_user is None and (committer.get("email") or "").lower() == GITHUB_COMMITTER_EMAIL \
            and author_user and author_user["type"] == "Bot":
        committer_user = author_user  # GitHub committed for the bot; REST names the bot as committer
    count, first = parents
    return {
        "sha": commit["oid"], "author": author_user, "committer": committer_user,
        "commit": {"message": commit.get("message"),
                   "author": {"email": author.get("email"), "date": author.get("date")},
                   "committer": {"email": committer.get("email"), "date": committer.get("date")}},
        "parents": ([{"sha": first}] + [{"sha": None}] * (count - 1)) if count else [],
    }


# --- the source ----------------------------------------------------------------------------------


def _repository_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v).strip() for v in json.loads(text)]
        return [v.strip() for v in text.split(",") if v.strip()]
    return [str(v).strip() for v in value]


@dlt.source(name="github", max_table_nesting=0)
def github_source(
    repositories: Any = dlt.config.value,
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    bot_names: Sequence[str] = DEFAULT_BOT_NAMES,
    production_environments: Sequence[str] = ("production", "prod"),
    deployment_workflow_pattern: str | None = None,
    ai_trailer_patterns: Sequence[str] = DEFAULT_AI_PATTERNS,
    per_page: int = 100,
    workers: int = 8,
    max_rate_limit_wait: float = 3600,
    lookback_days: int = 14,
    api: str = "graphql",
    repository_workers: int = 4,
    nested_per_page: int = 100,
) -> Any:
    repos = _repository_list(repositories)
    if not repos:
        raise ValueError("github: no repositories configured (org config github.repositories or "
                         "SOURCES__GITHUB__REPOSITORIES)")
    client = GitHubClient(base_url, access_token, max_rate_limit_wait)
    people = _People(Pseudonymiser(), bot_names)
    pseudonymise = people.pseudonymise
    ai_patterns = [re.compile(p) for p in ai_trailer_patterns]
    production = {e.lower() for e in production_environments}
    workflow_pattern = re.compile(deployment_workflow_pattern) if deployment_workflow_pattern else None
    workers = max(1, int(workers))
    per_page = max(1, min(int(per_page), 100))
    if str(api).lower() not in ("graphql", "rest"):
        raise ValueError(f"github: sources.github.api must be graphql or rest, not {api!r}")
    use_graphql = str(api).lower() == "graphql"
    pr_page_size = min(per_page, GRAPHQL_PR_PAGE)
    nested_per_page = max(1, min(int(nested_per_page), 100))
    repository_workers = max(1, int(repository_workers))
    # skipped: repository -> {what: why}; budget: the rate limits as answered and the GraphQL points spent
    stats: dict[str, Any] = {"prs": 0, "skipped": {}, "api": "graphql" if use_graphql else "rest",
                             "budget": client.budget, "client": client}

    def repo_pages(repo: str, what: str, path: str, params: dict[str, Any],
                   key: str | None = None) -> Iterator[list]:
        """The pages of one repository's list; a 404 or 403 on the first page skips the repository for this
        table (reported, nothing of it lands), a later or any other failure fails the run as always."""
        first = True
        try:
            for page in client.pages(path, params, key):
                first = False
                yield page
        except ApiError as exc:
            if not first or exc.status not in (403, 404):
                raise
            why = ("HTTP 404: no such repository, or the token cannot see it" if exc.status == 404
                   else "HTTP 403: the token has no access")
            stats["skipped"].setdefault(repo, {})[what] = why
            log.warning("github: %s: %s skipped (%s); the other repositories load", repo, what, why)

    def parallel(func: Callable[..., Any], *iterables: Any) -> list[Any]:
        """`func` over the items with `workers` requests in flight (results in input order)."""
        with ThreadPoolExecutor(workers, thread_name_prefix="github") as pool:
            return list(pool.map(func, *iterables))

    def fan_out(func: Callable[[dict[str, Any]], list[Any]], items: list[dict[str, Any]]) -> list[Any]:
        return [row for rows in parallel(func, items) for row in rows]

    # --- pull requests ---------------------------------------------------------------------------
    def pr_row(repo: str, pr: dict[str, Any]) -> dict[str, Any]:
        if "additions" not in pr:  # the REST list endpoint leaves sizes out
            pr, _ = client.get(f"/repos/{repo}/pulls/{pr['number']}")
        author_id, author_is_bot, author_bot = people.user(pr.get("user"))
        return {
            "pr_id": pr["id"], "repository": repo, "number": pr["number"], "state": pr["state"],
            "title": pr.get("title"), "is_draft": bool(pr.get("draft")), "author_id": author_id,
            "author_is_bot": author_is_bot, "author_bot_name": author_bot,
            "created_at": _ts(pr["created_at"]), "updated_at": _ts(pr["updated_at"]),
            "closed_at": _ts(pr.get("closed_at")), "merged_at": _ts(pr.get("merged_at")),
            "merge_commit_sha": pr.get("merge_commit_sha"), "head_sha": (pr.get("head") or {}).get("sha"),
            "base_ref": (pr.get("base") or {}).get("ref"),
            "labels": json.dumps(sorted(label["name"] for label in pr.get("labels") or [])),
            "additions": pr.get("additions"), "deletions": pr.get("deletions"),
            "changed_files": pr.get("changed_files"), "commit_count": pr.get("commits"),
            "merged_by_id": people.user(pr.get("merged_by"))[0], "html_url": pr.get("html_url"),
        }

    def review_row(pr: dict[str, Any], review: dict[str, Any]) -> dict[str, Any]:
        reviewer_id, is_bot, bot = people.user(review.get("user"))
        return {
            "review_id": review["id"], "pr_id": pr["pr_id"], "repository": pr["repository"],
            "pr_number": pr["number"], "reviewer_id": reviewer_id, "reviewer_is_bot": is_bot,
            "reviewer_bot_name": bot, "state": review.get("state"),
            "submitted_at": _ts(review.get("submitted_at")), "commit_sha": review.get("commit_id"),
        }

    def comment_row(pr: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
        commenter_id, is_bot, bot = people.user(comment.get("user"))
        return {
            "comment_id": comment["id"], "pr_id": pr["pr_id"], "repository": pr["repository"],
            "pr_number": pr["number"], "commenter_id": commenter_id, "commenter_is_bot": is_bot,
            "commenter_bot_name": bot, "created_at": _ts(comment.get("created_at")),
            "updated_at": _ts(comment.get("updated_at")),
        }

    def trailer_rows(pr_id: int, sha: str, message: str) -> list[dict[str, Any]]:
        rows = []
        for order, (key, value) in enumerate(parse_trailers(message), start=1):
            line = f"{key}: {value}"
            email = IDENTITY.search(value)
            is_person = bool(email) or key.lower() in PERSON_TRAILERS
            rows.append({
                "pr_id": pr_id, "sha": sha, "trailer_order": order, "trailer_key": key,
                "trailer_value": pseudonymise(email.group(1) if email else value) if is_person else value,
                "is_person": is_person, "matches_ai_pattern": any(p.search(line) for p in ai_patterns),
            })
        return rows

    def commit_rows(pr: dict[str, Any], commits: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list]]:
        """(commit row, its trailer rows) for a PR's commits (REST shape), oldest first."""
        out = []
        for order, item in enumerate(commits, start=1):
            git = item.get("commit") or {}
            git_author, git_committer = git.get("author") or {}, git.get("committer") or {}
            author_id, is_bot, _ = people.user(item.get("author"))
            email_id = pseudonymise(git_author.get("email"))
            trailers = trailer_rows(pr["pr_id"], item["sha"], git.get("message") or "")
            parents = item.get("parents") or []
            out.append(({
                "pr_id": pr["pr_id"], "sha": item["sha"], "repository": pr["repository"],
                "pr_number": pr["number"], "commit_order": order, "author_id": author_id or email_id,
                "author_email_id": email_id, "author_is_bot": is_bot,
                "committer_id": people.user(item.get("committer"))[0] or pseudonymise(git_committer.get("email")),
                "authored_at": _ts(git_author.get("date")), "committed_at": _ts(git_committer.get("date")),
                "parent_count": len(parents), "first_parent_sha": parents[0]["sha"] if parents else None,
                "trailer_count": len(trailers), "has_ai_trailer": any(t["matches_ai_pattern"] for t in trailers),
            }, trailers))
        return out

    def fresh_of(cursor: dict[str, Any]) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
        """Filter of a page (newest-updated first) to the PRs newer than the repository's cursor."""
        since, seen_at_since = cursor.get("updated_at"), set(cursor.get("ids", []))

        def fresh(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [pr for pr in page if since is None or pr["updated_at"] > since
                    or (pr["updated_at"] == since and pr["id"] not in seen_at_since)]

        return fresh

    def advance(mark: list[Any], prs: list[dict[str, Any]]) -> None:
        """mark = [newest updated_at, ids at it]: moved on by the PRs."""
        for pr in prs:
            if mark[0] is None or pr["updated_at"] > mark[0]:
                mark[0], mark[1] = pr["updated_at"], {pr["id"]}
            elif pr["updated_at"] == mark[0]:
                mark[1].add(pr["id"])

    def rest_pull_requests(cursors: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """REST: the list newest-updated first (stopping at the cursor), sizes from the single-PR endpoint."""
        for repo in repos:
            cursor = cursors.get(repo) or {}
            fresh_in, mark = fresh_of(cursor), [cursor.get("updated_at"), set(cursor.get("ids", []))]
            pages = fetched = 0
            params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": per_page}
            for page in repo_pages(repo, "pull requests", f"/repos/{repo}/pulls", params):
                pages += 1
                fresh = fresh_in(page)
                advance(mark, fresh)
                if fresh:
                    rows = parallel(pr_row, [repo] * len(fresh), fresh)
                    fetched += len(rows)
                    yield rows
                if len(fresh) < len(page):  # reached PRs older than the cursor
                    break
            if mark[0] is not None:
                cursors[repo] = {"updated_at": mark[0], "ids": sorted(mark[1])}
            stats["prs"] += fetched
            log.info("github: %s: %d new or changed pull requests (%d pages)", repo, fetched, pages)

    # GraphQL: rows of a PR's reviews, comments and commits wait here (by table, PR id) for their transformer
    pending: dict[str, dict[int, list[Any]]] = {"reviews": {}, "pr_comments": {}, "pr_commits": {}}
    pending_lock = threading.Lock()

    def connection_rest(pr_id: str, name: str, connection: dict[str, Any]) -> list[dict[str, Any]]:
        """Every node of a PR's connection: the first page came with the PR, the rest is paged here."""
        nodes = list(connection["nodes"])
        info = connection["pageInfo"]
        while info["hasNextPage"]:
            data = client.graphql(CONNECTION_QUERIES[name],
                                  {"id": pr_id, "first": nested_per_page, "after": info["endCursor"]})
            more = (data.get("node") or {}).get(name)
            if more is None:
                raise GraphQLError(f"GitHub GraphQL: pull request {pr_id} answered no {name}", [])
            nodes += more["nodes"]
            info = more["pageInfo"]
        return nodes

    def commit_parents(ids: list[str]) -> dict[str, tuple[int, str | None]]:
        """(parent count, first parent) of commits by node id, PARENTS_PER_QUERY a query."""
        found: dict[str, tuple[int, str | None]] = {}
        for start in range(0, len(ids), PARENTS_PER_QUERY):
            batch = ids[start : start + PARENTS_PER_QUERY]
            data = client.graphql(COMMIT_PARENTS_QUERY, {"ids": batch[:100], "more": batch[100:]})
            for node in [*(data.get("nodes") or []), *(data.get("more") or [])]:
                parents = node["parents"]
                found[node["id"]] = (parents["totalCount"], (parents["nodes"] or [{}])[0].get("oid"))
        missing = [i for i in ids if i not in found]
        if missing:
            raise GraphQLError(f"GitHub GraphQL: no parents for commits {missing[:3]}", [])
        return found

    def repository_missing(error: dict[str, Any]) -> bool:
        return error.get("type") in ("NOT_FOUND", "FORBIDDEN") and (error.get("path") or [None])[0] == "repository"

    def graphql_repository(repo: str, cursor: dict[str, Any], emit: Callable[[Any], None],
                           cancelled: threading.Event) -> tuple[list[Any], int, int] | None:
        """One repository's new or changed PRs with everything of them, page by page (`emit`s each page's rows
        once its commits' parents are known: they are asked for in full batches across pages); returns (cursor
        mark, PRs, pages), or None when the repository is skipped (not found, no access)."""
        owner, name = repo.split("/", 1)
        fresh_in, mark = fresh_of(cursor), [cursor.get("updated_at"), set(cursor.get("ids", []))]
        after, pages, fetched = None, 0, 0
        missing: list[dict[str, Any]] = []
        waiting: list[tuple[list[dict[str, Any]], dict[int, dict[str, Any]], list[str]]] = []  # pages, oldest first
        unresolved: list[str] = []  # commit node ids whose parents are not asked for yet
        parents: dict[str, tuple[int, str | None]] = {}

        def flush(final: bool) -> None:
            while len(unresolved) >= PARENTS_PER_QUERY or (final and unresolved):
                parents.update(commit_parents(unresolved[:PARENTS_PER_QUERY]))
                del unresolved[:PARENTS_PER_QUERY]
            while waiting and all(i in parents for i in waiting[0][2]):
                page_fresh, complete, _ = waiting.pop(0)
                emit(page_rows(repo, page_fresh, complete, parents))

        while not cancelled.is_set():
            data = client.graphql(PULL_REQUESTS_QUERY, {"owner": owner, "name": name, "first": pr_page_size,
                                                        "after": after, "nested": nested_per_page},
                                  allow=(lambda e: repository_missing(e) and not missing.append(e))
                                  if pages == 0 else None)
            if data.get("repository") is None:
                if pages or not missing:
                    raise GraphQLError(f"GitHub GraphQL: repository {repo} answered no data", [])
                why = ("GraphQL FORBIDDEN: the token has no access" if missing[0].get("type") == "FORBIDDEN"
                       else "GraphQL NOT_FOUND: no such repository, or the token cannot see it")
                stats["skipped"].setdefault(repo, {})["pull requests"] = why
                log.warning("github: %s: pull requests skipped (%s); the other repositories load", repo, why)
                return None
            connection = data["repository"]["pullRequests"]
            pages += 1
            nodes = {node["databaseId"]: node for node in connection["nodes"]}
            fresh = fresh_in([rest_pull(node) for node in connection["nodes"]])
            advance(mark, fresh)
            if fresh:
                complete = {}  # PR id -> {connection: every node}, overflowing connections read to the end
                for pr in fresh:
                    node = nodes[pr["id"]]
                    complete[pr["id"]] = {name: connection_rest(node["id"], name, node[name])
                                          for name in NESTED_FIELDS}
                    pr["labels"] = complete[pr["id"]]["labels"]
                commit_ids = [c["commit"]["id"] for parts in complete.values() for c in parts["commits"]]
                waiting.append((fresh, complete, commit_ids))
                asked = set(unresolved)
                for i in commit_ids:  # a commit can be in several PRs: its parents are asked for once
                    if i not in parents and i not in asked:
                        unresolved.append(i)
                        asked.add(i)
                fetched += len(fresh)
            last = len(fresh) < len(nodes) or not connection["pageInfo"]["hasNextPage"]
            flush(final=last)
            if last:
                break
            after = connection["pageInfo"]["endCursor"]
        return mark, fetched, pages

    def page_rows(repo: str, fresh: list[dict[str, Any]], complete: dict[int, dict[str, list]],
                  parents: dict[str, tuple[int, str | None]]) -> tuple[list, dict]:
        """The rows of a page of PRs: (PR rows, {table: {pr_id: rows}})."""
        prs, nested = [], {"reviews": {}, "pr_comments": {}, "pr_commits": {}}
        for pr in fresh:
            row = pr_row(repo, pr)
            parts = complete[pr["id"]]
            prs.append(row)
            nested["reviews"][row["pr_id"]] = [review_row(row, rest_review(r)) for r in parts["reviews"]]
            nested["pr_comments"][row["pr_id"]] = [comment_row(row, rest_comment(c)) for c in parts["comments"]]
            nested["pr_commits"][row["pr_id"]] = commit_rows(
                row, [rest_commit(c, parents[c["commit"]["id"]]) for c in parts["commits"]])
        return prs, nested

    def graphql_pull_requests(cursors: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """GraphQL: `repository_workers` repositories at a time, sharing one rate-limit budget."""
        results: queue.Queue = queue.Queue()
        cancelled = threading.Event()

        def work(repo: str) -> None:
            try:
                outcome = graphql_repository(repo, cursors.get(repo) or {},
                                             lambda rows: results.put(("rows", repo, rows)), cancelled)
                results.put(("done", repo, outcome))
            except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which raises it
                results.put(("error", repo, exc))

        pool = ThreadPoolExecutor(min(repository_workers, len(repos)), thread_name_prefix="github-repo")
        try:
            for repo in repos:
                pool.submit(work, repo)
            open_repos = len(repos)
            while open_repos:
                kind, repo, payload = results.get()
                if kind == "error":
                    raise payload
                if kind == "done":
                    open_repos -= 1
                    if payload is not None:
                        mark, fetched, pages = payload
                        if mark[0] is not None:
                            cursors[repo] = {"updated_at": mark[0], "ids": sorted(mark[1])}
                        stats["prs"] += fetched
                        log.info("github: %s: %d new or changed pull requests (%d pages)", repo, fetched, pages)
                    continue
                prs, nested = payload
                with pending_lock:
                    for table, rows in nested.items():
                        pending[table].update(rows)
                yield prs
        finally:
            cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)

    @dlt.resource(name="pull_requests", write_disposition="merge", primary_key="pr_id", columns=PR_COLUMNS)
    def pull_requests() -> Iterator[list[dict[str, Any]]]:
        cursors = dlt.current.resource_state().setdefault("cursors", {})
        if use_graphql:
            yield from graphql_pull_requests(cursors)
        else:
            yield from rest_pull_requests(cursors)

    def pending_rows(table: str, prs: list[dict[str, Any]]) -> list[Any]:
        with pending_lock:
            return [row for pr in prs for row in pending[table].pop(pr["pr_id"], [])]

    per_pr = {"write_disposition": {"disposition": "merge", "strategy": "delete-insert"}, "merge_key": "pr_id"}

    @dlt.transformer(name="pr_labels", data_from=pull_requests, primary_key=["pr_id", "label"],
                     columns=LABEL_COLUMNS, **per_pr)
    def pr_labels(prs: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """One row per label; a PR without labels gets one row with an empty label, so that replacing
        the PR's rows also clears labels that were removed."""
        rows = []
        for pr in prs:
            labels = json.loads(pr["labels"]) or [None]
            rows += [{"pr_id": pr["pr_id"], "label": label or ""} for label in labels]
        yield rows

    @dlt.transformer(name="reviews", data_from=pull_requests, primary_key="review_id", columns=REVIEW_COLUMNS,
                     **per_pr)
    def reviews(prs: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        if use_graphql:
            yield pending_rows("reviews", prs)
            return

        def fetch(pr: dict[str, Any]) -> list[dict[str, Any]]:
            return [review_row(pr, review) for review in client.all(
                f"/repos/{pr['repository']}/pulls/{pr['number']}/reviews", {"per_page": 100})]

        yield fan_out(fetch, prs)

    @dlt.transformer(name="pr_comments", data_from=pull_requests, primary_key="comment_id",
                     columns=COMMENT_COLUMNS, **per_pr)
    def pr_comments(prs: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        if use_graphql:
            yield pending_rows("pr_comments", prs)
            return

        def fetch(pr: dict[str, Any]) -> list[dict[str, Any]]:
            return [comment_row(pr, comment) for comment in client.all(
                f"/repos/{pr['repository']}/issues/{pr['number']}/comments", {"per_page": 100})]

        yield fan_out(fetch, prs)

    trailer_hints = dlt.mark.make_hints(
        table_name="pr_commit_trailers", primary_key=["pr_id", "sha", "trailer_order"], columns=TRAILER_COLUMNS,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"}, merge_key="pr_id",
    )

    @dlt.transformer(name="pr_commits", data_from=pull_requests, primary_key=["pr_id", "sha"],
                     columns=COMMIT_COLUMNS, **per_pr)
    def pr_commits(prs: list[dict[str, Any]]) -> Iterator[Any]:
        if use_graphql:
            results = pending_rows("pr_commits", prs)
        else:
            def fetch(pr: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
                return commit_rows(pr, client.all(f"/repos/{pr['repository']}/pulls/{pr['number']}/commits",
                                                  {"per_page": 100}))

            results = [pair for pairs in parallel(fetch, prs) for pair in pairs]
        yield [commit for commit, _ in results]
        trailers = [t for _, ts in results for t in ts]
        if trailers:
            yield dlt.mark.with_hints(trailers, trailer_hints, create_table_variant=True)

    # --- deployments -----------------------------------------------------------------------------
    def changed_in_window(
        state: dict[str, Any], repo: str, items: Iterator[list[dict[str, Any]]]
    ) -> Iterator[dict[str, Any]]:
        """Items (newest first) created within `lookback_days` of the newest one seen last run that are
        new or whose `updated_at` changed; remembers what it saw for the next run."""
        previous = state.get(repo) or {}
        seen: dict[str, str] = previous.get("seen", {})
        newest = previous.get("newest")
        cutoff = None
        if newest:
            cutoff = (_ts(newest) - timedelta(days=lookback_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        now_seen: dict[str, str] = {}
        latest = newest
        for page in items:
            stop = False
            for item in page:
                if cutoff and item["created_at"] < cutoff:
                    stop = True
                    break
                latest = max(latest or item["created_at"], item["created_at"])
                now_seen[str(item["id"])] = item["updated_at"]
                if seen.get(str(item["id"])) != item["updated_at"]:
                    yield item
            if stop:
                break
        horizon = (_ts(latest) - timedelta(days=lookback_days)).strftime("%Y-%m-%dT%H:%M:%SZ") if latest else ""
        kept = {k: v for k, v in (seen | now_seen).items() if v >= horizon}
        state[repo] = {"newest": latest, "seen": kept}

    @dlt.resource(name="deployments", write_disposition="merge", primary_key="deployment_id",
                  columns=DEPLOYMENT_COLUMNS)
    def deployments() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state().setdefault("windows", {})
        for repo in repos:
            rows = []
            pages = repo_pages(repo, "deployments", f"/repos/{repo}/deployments", {"per_page": per_page})
            for d in changed_in_window(state, repo, pages):
                creator_id, is_bot, bot = people.user(d.get("creator"))
                environment = d.get("environment")
                rows.append({
                    "deployment_id": d["id"], "repository": repo, "sha": d.get("sha"), "ref": d.get("ref"),
                    "task": d.get("task"), "environment": environment,
                    "is_production": bool(d.get("production_environment"))
                    or (environment or "").lower() in production,
                    "is_transient": bool(d.get("transient_environment")),
                    "created_at": _ts(d["created_at"]), "updated_at": _ts(d["updated_at"]),
                    "creator_id": creator_id, "creator_is_bot": is_bot, "creator_bot_name": bot,
                })
                if len(rows) >= per_page:
                    yield rows
                    rows = []
            if rows:
                yield rows
            log.info("github: %s: deployments checked", repo)

    @dlt.transformer(name="deployment_statuses", data_from=deployments, primary_key="status_id",
                     columns=STATUS_COLUMNS, merge_key="deployment_id",
                     write_disposition={"disposition": "merge", "strategy": "delete-insert"})
    def deployment_statuses(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        def fetch(d: dict[str, Any]) -> list[dict[str, Any]]:
            rows = []
            for s in client.all(f"/repos/{d['repository']}/deployments/{d['deployment_id']}/statuses",
                                {"per_page": 100}):
                creator_id, is_bot, _ = people.user(s.get("creator"))
                rows.append({
                    "status_id": s["id"], "deployment_id": d["deployment_id"], "repository": d["repository"],
                    "state": s.get("state"), "environment": s.get("environment") or d["environment"],
                    "created_at": _ts(s.get("created_at")), "updated_at": _ts(s.get("updated_at")),
                    "creator_id": creator_id, "creator_is_bot": is_bot,
                })
            return rows

        yield fan_out(fetch, items)

    @dlt.resource(name="workflow_runs", write_disposition="merge", primary_key="run_id", columns=RUN_COLUMNS)
    def workflow_runs() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state().setdefault("windows", {})
        for repo in repos:
            pages = repo_pages(repo, "workflow runs", f"/repos/{repo}/actions/runs", {"per_page": per_page},
                               key="workflow_runs")
            rows = []
            for run in changed_in_window(state, repo, pages):
                if not workflow_pattern.search(run.get("name") or ""):
                    continue
                actor_id, is_bot, bot = people.user(run.get("actor"))
                rows.append({
                    "run_id": run["id"], "repository": repo, "workflow_name": run.get("name"),
                    "workflow_id": run.get("workflow_id"), "workflow_path": run.get("path"),
                    "head_branch": run.get("head_branch"), "head_sha": run.get("head_sha"),
                    "event": run.get("event"), "status": run.get("status"), "conclusion": run.get("conclusion"),
                    "run_attempt": run.get("run_attempt"), "created_at": _ts(run.get("created_at")),
                    "updated_at": _ts(run.get("updated_at")), "run_started_at": _ts(run.get("run_started_at")),
                    "actor_id": actor_id, "actor_is_bot": is_bot, "actor_bot_name": bot,
                })
            if rows:
                yield rows

    resources = [pull_requests, pr_labels, reviews, pr_comments, pr_commits, deployments, deployment_statuses]
    if workflow_pattern is not None:
        resources.append(workflow_runs)
    source_stats.append(stats)
    return resources


source_stats: list[dict[str, Any]] = []  # per source built in this process: PRs fetched, repositories skipped


def configured_repositories(org: OrgConfig) -> list[str]:
    """`sources.github.repositories` (dlt config / env) when set, else the org config's list."""
    return _repository_list(dlt.config.get("sources.github.repositories")) or list(org.github.repositories)


def definition_source() -> Any:
    """A source with placeholder settings, for Dagster's asset specs; it sends no request."""
    return github_source(repositories=["placeholder/placeholder"], access_token="-", base_url="http://github.invalid",
                         deployment_workflow_pattern="placeholder")


def build_source(org: OrgConfig, org_dir: Path | None = None) -> Any:
    settings = org.github
    return github_source(
        repositories=configured_repositories(org),
        bot_names=sorted({*DEFAULT_BOT_NAMES, *settings.bot_names}),
        production_environments=list(settings.production_environments),
        deployment_workflow_pattern=getattr(settings, "deployment_workflow_pattern", None),
        ai_trailer_patterns=list(org.ai_assist.trailer_patterns),
    )


def _api_error(exc: BaseException) -> ApiError | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ApiError):
            return exc
        seen.add(id(exc))
        exc = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
    return None


def skipped_repositories(stats: dict[str, Any]) -> list[str]:
    """One line per repository a load skipped (404/403), naming what of it did not load and why."""
    lines = []
    for repo, whats in sorted(stats.get("skipped", {}).items()):
        reasons = sorted(set(whats.values()))
        order = ["pull requests", "deployments", "workflow runs"]
        whats = sorted(whats, key=lambda w: (order.index(w) if w in order else len(order), w))
        lines.append(f"github repository {repo}: skipped ({'; '.join(reasons)}): its {', '.join(whats)} did not "
                     "load; check github.repositories / SOURCES__GITHUB__REPOSITORIES and the token's access")
    return lines


def load(org: OrgConfig, org_dir: Path | None = None, target: str | None = None) -> LoadCounts:
    """Run the GitHub load; returns rows landed per table, with `skipped` naming each repository that
    answered 404/403 (the others landed). Raises `ApiError` (naming the URL) when a
    request stays broken; nothing of the failed run lands and the cursors stay, so a re-run resumes.
    `flowmart load github --full-refresh` reloads everything (orchestration.refresh)."""
    pipeline = make_pipeline("github", target)
    source = build_source(org)
    stats = source_stats[-1]
    started = time.perf_counter()
    try:
        pipeline.run(source)
    except PipelineStepFailed as exc:
        api_error = _api_error(exc)
        if api_error is not None:
            message = f"GitHub load failed, nothing of this run landed: {api_error}"
            if isinstance(api_error, GraphQLError):
                raise GraphQLError(message, api_error.errors) from exc
            raise ApiError(message, status=api_error.status) from exc
        raise
    seconds = time.perf_counter() - started
    counts = row_counts(pipeline)
    usage = rate_limit_usage(stats)
    log.info("github: %d pull requests in %.1f s (%.1f PRs/s); %s; rows: %s", stats["prs"], seconds,
             stats["prs"] / max(seconds, 1e-9), usage_line(usage), counts)
    return LoadCounts(counts | {f"_{k}": v for k, v in usage.items()}, skipped=skipped_repositories(stats),
                      note=usage_line(usage))


def rate_limit_usage(stats: dict[str, Any]) -> dict[str, Any]:
    """What a load spent of GitHub's hourly budgets: GraphQL queries and points (rateLimit.cost), REST
    requests, and PRs per rate-limit hour (PRs landed / points spent * 5,000 points an hour)."""
    budget: RateBudget = stats["budget"]
    rest = stats["client"].requests_sent - budget.queries
    spent = budget.points if stats["api"] == "graphql" else rest
    return {"github_prs": stats["prs"], "github_graphql_queries": budget.queries,
            "github_graphql_points": budget.points, "github_rest_requests": rest,
            "github_prs_per_rate_limit_hour": round(stats["prs"] / spent * HOURLY_BUDGET) if spent else 0}


def usage_line(usage: dict[str, Any]) -> str:
    return (f"GraphQL {usage['github_graphql_queries']} queries, {usage['github_graphql_points']} points; REST "
            f"{usage['github_rest_requests']} requests; {usage['github_prs_per_rate_limit_hour']:,} PRs per "
            "rate-limit hour")


if __name__ == "__main__":  # pragma: no cover - manual runs
    import os

    from pipelines.orgconfig import load_org_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config_path = Path(os.environ.get("FLOWMART_ORG_CONFIG", "flowmart.yml"))
    print(load(load_org_config(config_path), config_path.parent))
