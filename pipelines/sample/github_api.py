"""A fake GitHub API (REST and GraphQL) over the sample folder written by `github_data`, for the local
sample server.

Routes (what the GitHub loader uses), with GitHub's pagination (`per_page` <= 100, `page`, a `Link`
header with rel="next"/"last" built from the request's base URL):

    GET /repos/{owner}/{repo}/pulls?state=all&sort=updated&direction=desc
    GET /repos/{owner}/{repo}/pulls/{number}                 (adds additions, deletions, changed_files…)
    GET /repos/{owner}/{repo}/pulls/{number}/reviews
    GET /repos/{owner}/{repo}/pulls/{number}/commits
    GET /repos/{owner}/{repo}/issues/{number}/comments
    GET /repos/{owner}/{repo}/deployments                    (newest first)
    GET /repos/{owner}/{repo}/deployments/{id}/statuses      (newest first)
    GET /repos/{owner}/{repo}/actions/runs                   ({"total_count", "workflow_runs"}, newest first)
    POST /graphql                                            the loader's GraphQL operations (below)
    GET /_control/usage                                      requests and GraphQL points answered so far

GraphQL: the operations the loader sends, recognised by operation name, their arguments read from the
variables: `PullRequests` (repository.pullRequests ordered by UPDATED_AT DESC, with labels, reviews, comments
and commits nested), `PullRequest{Labels,Reviews,Comments,Commits}` (one PR's connection by node id, paged)
and `CommitParents` (`nodes(ids:)`). Answers have GitHub's shapes: `{"data": ...}`, errors as HTTP 200 with
`{"errors": [{"type", "path", "message"}]}` (NOT_FOUND / FORBIDDEN repositories), connections with
`totalCount`, `pageInfo { hasNextPage endCursor }` and `nodes`, Bot actors' logins without "[bot]", and
`rateLimit { cost remaining resetAt limit used }`. Each query is charged GitHub's documented cost
(`graphql_cost`) against an hourly budget (5,000 points; FLOWMART_SAMPLE_GITHUB_POINTS sets another) that is
counted and reported (x-ratelimit-* headers with x-ratelimit-resource: graphql), not enforced. The server's
faults apply to GraphQL by the path `/graphql` (429 with Retry-After, 5xx, truncated bodies).

Every request needs `Authorization: Bearer <token>` (or `token <token>`), else 401. `register` returns
a `GitHubStore` that tests mutate (`touch_pull`, `add_deployment`, `add_deployment_status`, `deny`/`allow` a
repository), use to switch on GitHub-style rate limiting (`limit_rate`: REST 403, GraphQL 200 with a
RATE_LIMITED error, both with `x-ratelimit-remaining: 0` and `x-ratelimit-reset: <epoch>`) or GraphQL error
answers (`fail_graphql`), and read the usage of (`usage()`). Repositories are read lazily, on first request.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pipelines.sample.server import Request, Response, Router

LIST_ONLY_DROPPED = ("additions", "deletions", "changed_files", "commits", "merged_by")
RATE_LIMIT = 5000


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Repo:
    pulls: dict[int, dict[str, Any]]  # number -> full PR with embedded _reviews/_comments/_commits
    deployments: dict[int, dict[str, Any]]  # id -> deployment with embedded _statuses (oldest first)
    runs: list[dict[str, Any]]
    order: list[int] = field(default_factory=list)  # PR numbers, updated desc
    _commits: dict[str, dict[str, Any]] | None = None  # sha -> commit (GraphQL node lookups), built on demand

    def commit(self, sha: str) -> dict[str, Any] | None:
        if self._commits is None:
            self._commits = {c["sha"]: c for pr in self.pulls.values() for c in pr["_commits"]}
        return self._commits.get(sha)

    def resort(self) -> None:
        self.order = [
            pr["number"]
            for pr in sorted(self.pulls.values(), key=lambda p: (p["updated_at"], p["number"]), reverse=True)
        ]


@dataclass
class RateLimitHit:
    path: str
    at: float
    reset: int


class GitHubStore:
    """The data the fake API serves; mutable by tests."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._repos: dict[str, _Repo] = {}
        self._lock = threading.RLock()
        self._limited = 0
        self._reset_in = 1.0
        self.rate_limit_hits: list[RateLimitHit] = []
        self.requests_served: list[tuple[float, str]] = []
        self._next_id = 9_000_000_000
        self._denied: dict[str, int] = {}  # repository -> HTTP status REST answers (GraphQL: FORBIDDEN/NOT_FOUND)
        # the GraphQL budget (points per hour) and what was spent; FLOWMART_SAMPLE_GITHUB_POINTS raises the limit
        self.points_limit = int(os.environ.get("FLOWMART_SAMPLE_GITHUB_POINTS", RATE_LIMIT))
        self._window_start = time.time()
        self._window_points = 0
        self.counts = {"rest_requests": 0, "graphql_requests": 0, "graphql_points": 0,
                       "graphql_connection_requests": 0}
        self.operations: dict[str, int] = {}
        self._graphql_failures: list[dict[str, Any]] = []  # errors the next GraphQL answers carry (tests)

    # --- data ------------------------------------------------------------------------------------
    def repositories(self) -> list[str]:
        return sorted(f"{p.parent.name}/{p.name}" for p in self.folder.glob("*/*") if p.is_dir())

    def repo(self, full_name: str) -> _Repo | None:
        with self._lock:
            if full_name not in self._repos:
                path = self.folder / full_name
                if not path.is_dir():
                    return None
                pulls = {pr["number"]: pr for pr in _read_jsonl(path / "pulls.jsonl")}
                deployments = {d["id"]: d for d in _read_jsonl(path / "deployments.jsonl")}
                runs = _read_jsonl(path / "workflow_runs.jsonl")
                repo = _Repo(pulls, deployments, runs)
                repo.resort()
                self._repos[full_name] = repo
            return self._repos[full_name]

    def pull(self, full_name: str, number: int) -> dict[str, Any]:
        repo = self.repo(full_name)
        if repo is None or number not in repo.pulls:
            raise KeyError(f"{full_name}#{number}")
        return repo.pulls[number]

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def touch_pull(
        self, full_name: str, number: int, *, updated_at: str | None = None, review: dict[str, Any] | None = None,
        comment: bool = False, title: str | None = None,
    ) -> dict[str, Any]:
        """Change a PR so an incremental load sees it: bump `updated_at` (default: now), and optionally
        add a review (`{"user": {...}, "state": "APPROVED"}`), a comment, or a new title."""
        with self._lock:
            repo = self.repo(full_name)
            pr = self.pull(full_name, number)
            at = updated_at or _now_iso()
            if review is not None:
                pr["_reviews"].append({
                    "id": self._id(), "user": review["user"], "state": review.get("state", "APPROVED"),
                    "submitted_at": at, "commit_id": pr["head"]["sha"], "author_association": "MEMBER",
                })
            if comment:
                pr["_comments"].append({"id": self._id(), "user": pr["user"], "created_at": at, "updated_at": at,
                                        "body": "One more thing.", "author_association": "MEMBER"})
            if title is not None:
                pr["title"] = title
            pr["updated_at"] = at
            repo.resort()
            return pr

    def add_deployment(
        self, full_name: str, sha: str, environment: str = "production", *, task: str = "deploy",
        created_at: str | None = None, statuses: list[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        """Add a deployment with statuses [(state, created_at), ...] (oldest first)."""
        with self._lock:
            repo = self.repo(full_name)
            at = created_at or _now_iso()
            creator = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot", "site_admin": False}
            deployment = {
                "id": self._id(), "sha": sha, "ref": "main", "task": task, "environment": environment,
                "original_environment": environment, "production_environment": environment == "production",
                "transient_environment": False, "description": None, "created_at": at, "updated_at": at,
                "creator": creator, "payload": {}, "_statuses": [],
            }
            repo.deployments[deployment["id"]] = deployment
            for state, when in statuses:
                self.add_deployment_status(full_name, deployment["id"], state, when)
            return deployment

    def add_deployment_status(
        self, full_name: str, deployment_id: int, state: str, created_at: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            deployment = self.repo(full_name).deployments[deployment_id]
            at = created_at or _now_iso()
            status = {"id": self._id(), "state": state, "created_at": at, "updated_at": at,
                      "environment": deployment["environment"], "creator": deployment["creator"]}
            deployment["_statuses"].append(status)
            deployment["updated_at"] = max(deployment["updated_at"], at)
            return status

    # --- access and usage ------------------------------------------------------------------------
    def deny(self, full_name: str, status: int = 403) -> None:
        """The token loses access to a repository: REST answers `status`, GraphQL a FORBIDDEN (403) or
        NOT_FOUND (404) error on `repository`."""
        with self._lock:
            self._denied[full_name] = status

    def allow(self, full_name: str) -> None:
        with self._lock:
            self._denied.pop(full_name, None)

    def fail_graphql(self, message: str, times: int = 1, type_: str | None = None) -> None:
        """The next `times` GraphQL queries answer HTTP 200 with `{"data": null, "errors": [...]}`."""
        with self._lock:
            self._graphql_failures += [{"message": message} | ({"type": type_} if type_ else {})] * times

    def charge(self, operation: str, points: int, requests: int) -> dict[str, Any]:
        """Count one GraphQL answer; returns its rateLimit object (the hourly window rolls over)."""
        with self._lock:
            now = time.time()
            if now - self._window_start >= 3600:
                self._window_start, self._window_points = now, 0
            self._window_points += points
            self.counts["graphql_requests"] += 1
            self.counts["graphql_points"] += points
            self.counts["graphql_connection_requests"] += requests
            self.operations[operation] = self.operations.get(operation, 0) + 1
            reset = math.ceil(self._window_start + 3600)
            return {"cost": points, "limit": self.points_limit, "used": self._window_points,
                    "remaining": max(0, self.points_limit - self._window_points),
                    "resetAt": datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "_reset": reset}

    def usage(self) -> dict[str, Any]:
        """Requests answered (REST, GraphQL) and GraphQL points spent, by GitHub's cost formula."""
        with self._lock:
            return dict(self.counts) | {"requests": self.counts["rest_requests"] + self.counts["graphql_requests"],
                                        "graphql_operations": dict(self.operations)}

    # --- rate limiting ---------------------------------------------------------------------------
    def limit_rate(self, times: int = 1, reset_in: float = 1.0) -> None:
        """The next `times` requests answer 403 with x-ratelimit-remaining 0, resetting in `reset_in` s."""
        with self._lock:
            self._limited = times
            self._reset_in = reset_in

    def _rate_limited(self, path: str, graphql: bool = False) -> Response | None:
        with self._lock:
            self.requests_served.append((time.time(), path))
            if self._limited <= 0:
                return None
            self._limited -= 1
            reset = math.ceil(time.time() + self._reset_in)
            self.rate_limit_hits.append(RateLimitHit(path, time.time(), reset))
        headers = {"x-ratelimit-limit": str(RATE_LIMIT), "x-ratelimit-remaining": "0",
                   "x-ratelimit-used": str(RATE_LIMIT), "x-ratelimit-reset": str(reset),
                   "x-ratelimit-resource": "graphql" if graphql else "core"}
        if graphql:  # GitHub's GraphQL API answers an exhausted budget with HTTP 200 and a RATE_LIMITED error
            return Response(200, {"errors": [{"type": "RATE_LIMITED", "code": "graphql_rate_limit",
                                              "message": "API rate limit already exceeded for user ID 1."}]}, headers)
        body = {"message": "API rate limit exceeded for user ID 1.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}
        return Response(403, body, headers)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _public(item: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_") and k not in drop}


def _paginate(request: Request, items: list[Any], wrap: Callable[[list[Any]], Any] | None = None) -> Response:
    per_page = max(1, min(request.int_arg("per_page", 30), 100))
    page = max(1, request.int_arg("page", 1))
    last = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []

    def link(number: int, rel: str) -> str:
        query = {k: v[0] for k, v in request.query.items()} | {"per_page": str(per_page), "page": str(number)}
        return f'<{request.base_url}{request.path}?{urlencode(query)}>; rel="{rel}"'

    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    headers = {"Link": ", ".join(links)} if links else {}
    return Response(200, wrap(chunk) if wrap else chunk, headers)


def register(router: Router, folder: Path) -> GitHubStore:
    store = GitHubStore(folder)
    repo_path = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"

    def api(handler: Callable[[Request, _Repo], Response]) -> Callable[[Request], Response]:
        def wrapped(request: Request) -> Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            auth = headers.get("authorization", "")
            if not re.match(r"^(Bearer|token) \S+", auth):
                return Response(401, {"message": "Requires authentication",
                                      "documentation_url": "https://docs.github.com/rest"})
            limited = store._rate_limited(request.path)
            if limited is not None:
                return limited
            full_name = f"{request.params['owner']}/{request.params['repo']}"
            with store._lock:
                store.counts["rest_requests"] += 1
                denied = store._denied.get(full_name)
            if denied:
                return Response(denied, {"message": "Not Found" if denied == 404 else
                                         "Resource not accessible by integration"})
            repo = store.repo(full_name)
            if repo is None:
                return Response(404, {"message": "Not Found"})
            try:
                response = handler(request, repo)
            except KeyError:
                return Response(404, {"message": "Not Found"})
            response.headers.setdefault("x-ratelimit-limit", str(RATE_LIMIT))
            response.headers.setdefault("x-ratelimit-remaining", str(RATE_LIMIT - 1))
            return response

        return wrapped

    def pulls(request: Request, repo: _Repo) -> Response:
        if request.arg("sort", "created") != "updated" or request.arg("direction", "desc") != "desc":
            return Response(422, {"message": "the sample API serves sort=updated&direction=desc only"})
        state = request.arg("state", "open")
        with store._lock:
            items = [repo.pulls[n] for n in repo.order]
        if state != "all":
            items = [pr for pr in items if pr["state"] == state]
        return _paginate(request, [_public(pr, LIST_ONLY_DROPPED) for pr in items])

    def pull(request: Request, repo: _Repo) -> Response:
        pr = repo.pulls[int(request.params["number"])]
        return Response(200, _public(pr) | {"merged": pr["merged_at"] is not None})

    def embedded(key: str, drop: tuple[str, ...] = ()) -> Callable[[Request, _Repo], Response]:
        def handler(request: Request, repo: _Repo) -> Response:
            pr = repo.pulls[int(request.params["number"])]
            return _paginate(request, [_public(item, drop) for item in pr[key]])

        return handler

    def deployments(request: Request, repo: _Repo) -> Response:
        with store._lock:
            items = sorted(repo.deployments.values(), key=lambda d: (d["created_at"], d["id"]), reverse=True)
        environment = request.arg("environment")
        if environment:
            items = [d for d in items if d["environment"] == environment]
        return _paginate(request, [_public(d) for d in items])

    def statuses(request: Request, repo: _Repo) -> Response:
        deployment = repo.deployments[int(request.params["id"])]
        return _paginate(request, [_public(s) for s in reversed(deployment["_statuses"])])

    def runs(request: Request, repo: _Repo) -> Response:
        items = list(reversed(repo.runs))
        return _paginate(request, items, lambda chunk: {"total_count": len(items), "workflow_runs": chunk})

    router.add("GET", repo_path + r"/pulls", api(pulls))
    router.add("GET", repo_path + r"/pulls/(?P<number>\d+)", api(pull))
    router.add("GET", repo_path + r"/pulls/(?P<number>\d+)/reviews", api(embedded("_reviews")))
    router.add("GET", repo_path + r"/pulls/(?P<number>\d+)/commits", api(embedded("_commits")))
    router.add("GET", repo_path + r"/issues/(?P<number>\d+)/comments", api(embedded("_comments")))
    router.add("GET", repo_path + r"/deployments", api(deployments))
    router.add("GET", repo_path + r"/deployments/(?P<id>\d+)/statuses", api(statuses))
    router.add("GET", repo_path + r"/actions/runs", api(runs))
    router.add("POST", r"/graphql", lambda request: _graphql(store, request))
    router.add("GET", r"/_control/usage", lambda request: Response(200, store.usage()))
    return store


# --- GraphQL -------------------------------------------------------------------------------------
#
# POST /graphql answers the loader's operations (recognised by operation name, arguments read from the
# variables) with GitHub's response shapes: {"data": {...}} and, on errors, {"errors": [{"type", "path",
# "message", ...}]} with HTTP 200. Every answer is charged GitHub's documented cost (`graphql_cost`) against
# an hourly budget of points reported in `rateLimit { cost remaining resetAt limit }` and in the
# x-ratelimit-* headers (x-ratelimit-resource: graphql). The budget is counted, not enforced (tests switch
# rate limiting on with `limit_rate`); `GitHubStore.usage()` and GET /_control/usage expose the counts.

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\.\.\.|\$?[A-Za-z_][A-Za-z0-9_]*|-?\d+|[{}():,\[\]!=@]')


def _selection(tokens: list[str], i: int) -> tuple[list[tuple[dict[str, str], list]], int]:
    """Parse a selection set starting after '{': [(arguments, child selection), ...], index after '}'."""
    fields: list[tuple[dict[str, str], list]] = []
    while i < len(tokens) and tokens[i] != "}":
        if tokens[i] == "...":  # inline fragment `... on Type { }`: its fields count at this level
            i += 1
            if tokens[i] == "on":
                i += 2
            if tokens[i] == "{":
                children, i = _selection(tokens, i + 1)
                fields += children
            continue
        i += 1  # field name (or alias)
        if i < len(tokens) and tokens[i] == ":":  # alias: name
            i += 2
        args: dict[str, str] = {}
        if i < len(tokens) and tokens[i] == "(":
            depth, i = 1, i + 1
            while depth:
                if depth == 1 and i + 2 < len(tokens) and tokens[i + 1] == ":" and tokens[i] not in "{}[]()":
                    args[tokens[i]] = tokens[i + 2]
                depth += {"(": 1, "{": 1, "[": 1, ")": -1, "}": -1, "]": -1}.get(tokens[i], 0)
                i += 1
        children: list = []
        if i < len(tokens) and tokens[i] == "{":
            children, i = _selection(tokens, i + 1)
        fields.append((args, children))
    return fields, i + 1


def graphql_cost(query: str, variables: dict[str, Any] | None = None) -> tuple[int, int]:
    """(points, requests) of a query by GitHub's formula: every connection (a field with `first` or `last`)
    needs one request per parent object, i.e. the product of the `first`/`last` of the connections above it
    (`nodes(ids:)` multiplies by the number of ids); the requests summed, divided by 100 and rounded, at
    least 1 point. `rateLimit` itself is free."""
    variables = variables or {}
    tokens = _TOKEN.findall(query)
    start = tokens.index("{")

    def value(token: str) -> Any:
        return variables.get(token[1:]) if token.startswith("$") else token

    def requests(fields: list, multiplier: int) -> int:
        total = 0
        for args, children in fields:
            size = next((value(args[k]) for k in ("first", "last") if k in args), None)
            if size is not None:
                total += multiplier
                total += requests(children, multiplier * int(size))
            elif "ids" in args:
                total += requests(children, multiplier * len(value(args["ids"]) or []))
            else:
                total += requests(children, multiplier)
        return total

    fields, _ = _selection(tokens, start + 1)
    total = requests(fields, 1)
    return max(1, int(total / 100 + 0.5)), total


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise _GraphQLError("INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor.") from exc


def pr_node_id(repo: str, number: int) -> str:
    return "PR_" + _b64(f"{repo}:{number}")


def commit_node_id(repo: str, sha: str) -> str:
    return "C_" + _b64(f"{repo}:{sha}")


class _GraphQLError(Exception):
    def __init__(self, type_: str | None, message: str, path: list[Any] | None = None) -> None:
        super().__init__(message)
        self.error = {"message": message} | ({"type": type_} if type_ else {}) | ({"path": path} if path else {})


def _connection(items: list[Any], first: Any, after: str | None, node: Callable[[Any], Any],
                field_name: str) -> dict[str, Any]:
    if not isinstance(first, int) or not 1 <= first <= 100:
        raise _GraphQLError(None, f"Requesting {first} records on the `{field_name}` connection exceeds the "
                                  "`first` limit of 100 records.")
    start = _offset(after)
    chunk = items[start : start + first]
    end = start + len(chunk)
    return {"totalCount": len(items),
            "pageInfo": {"hasNextPage": end < len(items), "endCursor": _cursor(end) if chunk else None},
            "nodes": [node(item) for item in chunk]}


def _actor(user: dict[str, Any] | None) -> dict[str, Any] | None:
    """A REST user as a GraphQL Actor: a Bot's login has no "[bot]" suffix in GraphQL."""
    if not user or not user.get("login"):
        return None
    login = user["login"]
    if user.get("type") == "Bot":
        return {"__typename": "Bot", "login": login.removesuffix("[bot]")}
    return {"__typename": "User", "login": login}


def _git_actor(git: dict[str, Any], user: dict[str, Any] | None) -> dict[str, Any]:
    """GitActor: `user` is the GitHub User of the e-mail (null for bots and unknown e-mails)."""
    linked = {"login": user["login"]} if user and user.get("type") == "User" and user.get("login") else None
    return {"email": git.get("email"), "date": git.get("date"), "user": linked}


def _review_node(review: dict[str, Any]) -> dict[str, Any]:
    return {"databaseId": review["id"], "state": review.get("state"), "submittedAt": review.get("submitted_at"),
            "author": _actor(review.get("user")),
            "commit": {"oid": review["commit_id"]} if review.get("commit_id") else None}


def _comment_node(comment: dict[str, Any]) -> dict[str, Any]:
    return {"databaseId": comment["id"], "createdAt": comment.get("created_at"),
            "updatedAt": comment.get("updated_at"), "author": _actor(comment.get("user"))}


def _commit_node(repo: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def node(item: dict[str, Any]) -> dict[str, Any]:
        git = item.get("commit") or {}
        return {"commit": {
            "id": commit_node_id(repo, item["sha"]), "oid": item["sha"], "message": git.get("message"),
            "author": _git_actor(git.get("author") or {}, item.get("author")),
            "committer": _git_actor(git.get("committer") or {}, item.get("committer")),
        }}

    return node


def _pr_state(pr: dict[str, Any]) -> str:
    return "MERGED" if pr.get("merged_at") else "CLOSED" if pr["state"] == "closed" else "OPEN"


NESTED = {  # connection of a PullRequest -> (embedded key in the sample, node builder taking the repository)
    "labels": ("labels", lambda repo: lambda label: {"name": label["name"]}),
    "reviews": ("_reviews", lambda repo: _review_node),
    "comments": ("_comments", lambda repo: _comment_node),
    "commits": ("_commits", _commit_node),
}


def _pr_node(repo: str, pr: dict[str, Any], nested: Any) -> dict[str, Any]:
    node = {
        "id": pr_node_id(repo, pr["number"]), "databaseId": pr["id"], "number": pr["number"],
        "state": _pr_state(pr), "title": pr.get("title"), "isDraft": bool(pr.get("draft")),
        "url": pr.get("html_url"), "createdAt": pr["created_at"], "updatedAt": pr["updated_at"],
        "closedAt": pr.get("closed_at"), "mergedAt": pr.get("merged_at"), "additions": pr.get("additions"),
        "deletions": pr.get("deletions"), "changedFiles": pr.get("changed_files"),
        "headRefOid": (pr.get("head") or {}).get("sha"), "baseRefName": (pr.get("base") or {}).get("ref"),
        "author": _actor(pr.get("user")), "mergedBy": _actor(pr.get("merged_by")),
        "mergeCommit": {"oid": pr["merge_commit_sha"]} if pr.get("merge_commit_sha") else None,
    }
    for field_name, (key, builder) in NESTED.items():
        node[field_name] = _connection(pr.get(key) or [], nested, None, builder(repo), field_name)
    return node


def _repository(store: GitHubStore, full_name: str, errors: list[dict[str, Any]], path: list[Any]) -> _Repo | None:
    with store._lock:
        denied = store._denied.get(full_name)
    repo = None if denied else store.repo(full_name)
    if denied == 403:
        errors.append({"type": "FORBIDDEN", "path": path, "message": "Resource not accessible by integration"})
    elif repo is None:
        errors.append({"type": "NOT_FOUND", "path": path,
                       "message": f"Could not resolve to a Repository with the name '{full_name}'."})
    return repo


def _op_pull_requests(store: GitHubStore, v: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
    full_name = f"{v.get('owner')}/{v.get('name')}"
    repo = _repository(store, full_name, errors, ["repository"])
    if repo is None:
        return {"repository": None}
    with store._lock:
        items = [repo.pulls[n] for n in repo.order]
        nested = v.get("nested", 100)
        connection = _connection(items, v.get("first"), v.get("after"),
                                 lambda pr: _pr_node(full_name, pr, nested), "pullRequests")
    return {"repository": {"pullRequests": connection}}


def _op_pull_request_connection(field_name: str) -> Callable[..., dict[str, Any]]:
    def op(store: GitHubStore, v: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
        node_id = str(v.get("id") or "")
        pr = repo_name = None
        if node_id.startswith("PR_"):
            repo_name, _, number = _unb64(node_id[3:]).rpartition(":")
            repo = None if store._denied.get(repo_name) else store.repo(repo_name)
            pr = repo.pulls.get(int(number)) if repo is not None else None
        if pr is None:
            errors.append({"type": "NOT_FOUND", "path": ["node"],
                           "message": f"Could not resolve to a node with the global id of '{node_id}'"})
            return {"node": None}
        key, builder = NESTED[field_name]
        with store._lock:
            connection = _connection(pr.get(key) or [], v.get("first"), v.get("after"), builder(repo_name),
                                     field_name)
        return {"node": {field_name: connection}}

    return op


def _op_commit_parents(store: GitHubStore, v: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
    """`nodes(ids: $ids)` and `more: nodes(ids: $more)` (two lists: `nodes` takes up to 100 ids)."""
    return {"nodes": _commit_parents(store, v.get("ids"), "nodes", errors),
            "more": _commit_parents(store, v.get("more"), "more", errors)}


def _commit_parents(store: GitHubStore, ids: Any, field_name: str, errors: list[dict[str, Any]]) -> list[Any]:
    ids = list(ids or [])
    if len(ids) > 100:
        raise _GraphQLError(None, f"You may not request more than 100 nodes at once (you asked for {len(ids)}).")
    nodes: list[dict[str, Any] | None] = []
    for i, node_id in enumerate(ids):
        commit = None
        if str(node_id).startswith("C_"):
            repo_name, _, sha = _unb64(node_id[2:]).rpartition(":")
            repo = store.repo(repo_name)
            commit = repo.commit(sha) if repo is not None else None
        if commit is None:
            errors.append({"type": "NOT_FOUND", "path": [field_name, i],
                           "message": f"Could not resolve to a node with the global id of '{node_id}'"})
            nodes.append(None)
            continue
        parents = commit.get("parents") or []
        nodes.append({"id": node_id, "oid": commit["sha"],
                      "parents": {"totalCount": len(parents), "nodes": [{"oid": p["sha"]} for p in parents[:1]]}})
    return nodes


OPERATIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "PullRequests": _op_pull_requests,
    "PullRequestLabels": _op_pull_request_connection("labels"),
    "PullRequestReviews": _op_pull_request_connection("reviews"),
    "PullRequestComments": _op_pull_request_connection("comments"),
    "PullRequestCommits": _op_pull_request_connection("commits"),
    "CommitParents": _op_commit_parents,
}
_OPERATION_NAME = re.compile(r"^\s*query\s+([A-Za-z_]\w*)")


def _graphql(store: GitHubStore, request: Request) -> Response:
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not re.match(r"^(Bearer|token) \S+", headers.get("authorization", "")):
        return Response(401, {"message": "This endpoint requires you to be authenticated.",
                              "documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql"
                                                   "#authenticating-with-graphql"})
    limited = store._rate_limited(request.path, graphql=True)
    if limited is not None:
        return limited
    body = request.body if isinstance(request.body, dict) else {}
    query = body.get("query")
    if not isinstance(query, str):
        return Response(200, {"errors": [{"message": "A query attribute must be specified and must be a string."}]})
    variables = body.get("variables") or {}
    match = _OPERATION_NAME.match(query)
    name = body.get("operationName") or (match.group(1) if match else None)
    operation = OPERATIONS.get(name or "")
    if operation is None:
        return Response(200, {"errors": [{"message": f"the sample API serves the loader's operations only "
                                                     f"({', '.join(OPERATIONS)}), not {name!r}"}]})
    try:
        points, requests = graphql_cost(query, variables)
    except (ValueError, IndexError, TypeError):
        return Response(200, {"errors": [{"message": "Parse error on the query"}]})
    errors: list[dict[str, Any]] = []
    with store._lock:
        failure = store._graphql_failures.pop(0) if store._graphql_failures else None
    try:
        if failure is not None:
            data, errors = None, [failure]
        else:
            data = operation(store, variables, errors)
    except _GraphQLError as exc:
        data, errors = None, [exc.error]
    rate = store.charge(name, points, requests)
    reset = rate.pop("_reset")
    if data is not None and "rateLimit" in query:
        data = {"rateLimit": rate} | data
    answer: dict[str, Any] = {"data": data}
    if errors:
        answer["errors"] = errors
    return Response(200, answer, {
        "x-ratelimit-limit": str(rate["limit"]), "x-ratelimit-remaining": str(rate["remaining"]),
        "x-ratelimit-used": str(rate["used"]), "x-ratelimit-reset": str(reset), "x-ratelimit-resource": "graphql",
    })
