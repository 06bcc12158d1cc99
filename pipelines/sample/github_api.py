"""A fake GitHub REST API over the sample folder written by `github_data`, for the local sample server.

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

Every request needs `Authorization: Bearer <token>` (or `token <token>`), else 401. `register` returns
a `GitHubStore` that tests mutate (`touch_pull`, `add_deployment`, `add_deployment_status`) and use to
switch on GitHub-style rate limiting (`limit_rate`: 403 with `x-ratelimit-remaining: 0` and
`x-ratelimit-reset: <epoch>`). Repositories are read lazily, on first request.
"""

from __future__ import annotations

import json
import math
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

    # --- rate limiting ---------------------------------------------------------------------------
    def limit_rate(self, times: int = 1, reset_in: float = 1.0) -> None:
        """The next `times` requests answer 403 with x-ratelimit-remaining 0, resetting in `reset_in` s."""
        with self._lock:
            self._limited = times
            self._reset_in = reset_in

    def _rate_limited(self, path: str) -> Response | None:
        with self._lock:
            self.requests_served.append((time.time(), path))
            if self._limited <= 0:
                return None
            self._limited -= 1
            reset = math.ceil(time.time() + self._reset_in)
            self.rate_limit_hits.append(RateLimitHit(path, time.time(), reset))
        headers = {"x-ratelimit-limit": str(RATE_LIMIT), "x-ratelimit-remaining": "0",
                   "x-ratelimit-used": str(RATE_LIMIT), "x-ratelimit-reset": str(reset),
                   "x-ratelimit-resource": "core"}
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
            repo = store.repo(f"{request.params['owner']}/{request.params['repo']}")
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
    return store
