"""Jira Cloud REST v3, as far as the loader uses it, served from the sample folder.

Endpoints: `GET|POST /rest/api/3/search/jql` (a JQL subset: `project in (...)`, `project = X`,
`updated >= "yyyy-MM-dd HH:mm"`, `ORDER BY updated ASC|DESC`; `nextPageToken` pagination; `fields`;
`expand=changelog` embeds at most the latest 40 histories, like Jira, so the rest must be fetched),
`POST /rest/api/3/issue/bulkfetch` (`issueIdsOrKeys` ≤ 100, `fields`, `expand: ["changelog"]` embeds the
latest 40 histories as the search does; issues that do not exist are left out, `issueErrors` stays empty),
`GET /rest/api/3/issue/{idOrKey}/changelog` (`startAt`/`maxResults` ≤ 100, `isLast`),
`GET /rest/api/3/field`, `GET /rest/api/3/status`, `GET /rest/api/3/project/search` (`startAt`/`maxResults`).
Basic auth is required.

Issues are read lazily from `issues.jsonl` through its offset index, so a scale-50 sample does not
have to fit in memory. `JiraStore` mutations (`transition`, `record`, `delete`) let tests simulate a day of
work.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.sample.jira_data import EMBEDDED_CHANGELOG_MAX, RESOLUTIONS, STATUS, jira_time, status_ref
from pipelines.sample.server import Request, Response, Router

try:  # orjson (a dependency of dlt) parses the stored issues faster
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads

SEARCH_MAX = 100
BULKFETCH_MAX = 100
ID_ONLY_MAX = 5000
CHANGELOG_MAX = 100

_CLAUSE_PROJECT_IN = re.compile(r"^project\s+in\s*\(([^)]*)\)$", re.I)
_CLAUSE_PROJECT_EQ = re.compile(r"^project\s*=\s*\"?([A-Za-z0-9_]+)\"?$", re.I)
_CLAUSE_UPDATED = re.compile(r"^updated\s*>=\s*[\"']([0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2})?)[\"']$", re.I)
_ORDER = re.compile(r"\s+order\s+by\s+(\w+)(?:\s+(asc|desc))?\s*$", re.I)


class JqlError(ValueError):
    pass


def parse_jql(jql: str) -> tuple[set[str] | None, float | None, bool]:
    """-> (projects or None for all, updated-since epoch or None, descending)."""
    descending = False
    m = _ORDER.search(jql)
    if m:
        if m.group(1).lower() != "updated":
            raise JqlError(f"ORDER BY {m.group(1)} is not supported by the sample server")
        descending = (m.group(2) or "asc").lower() == "desc"
        jql = jql[: m.start()]
    projects: set[str] | None = None
    since: float | None = None
    for clause in re.split(r"\s+AND\s+", jql.strip(), flags=re.I):
        clause = clause.strip().lstrip("(")
        while clause.endswith(")") and clause.count(")") > clause.count("("):
            clause = clause[:-1].rstrip()
        if not clause:
            continue
        if m := _CLAUSE_PROJECT_IN.match(clause):
            names = {p.strip().strip("\"'") for p in m.group(1).split(",") if p.strip()}
            projects = names if projects is None else projects & names
        elif m := _CLAUSE_PROJECT_EQ.match(clause):
            projects = {m.group(1)} if projects is None else projects & {m.group(1)}
        elif m := _CLAUSE_UPDATED.match(clause):
            fmt = "%Y-%m-%d %H:%M" if " " in m.group(1) else "%Y-%m-%d"
            since = datetime.strptime(m.group(1), fmt).replace(tzinfo=UTC).timestamp()
        else:
            raise JqlError(f"Error in the JQL Query: unsupported clause '{clause}'")
    return projects, since, descending


class JiraStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fields = json.loads((folder / "fields.json").read_text(encoding="utf-8"))
        self.statuses = json.loads((folder / "statuses.json").read_text(encoding="utf-8"))
        self._lock = threading.RLock()
        # id -> [updated_epoch, key, project, offset, length]
        self._index: dict[str, list[Any]] = {}
        self._by_key: dict[str, str] = {}
        with (folder / "issues.index.tsv").open(encoding="utf-8") as f:
            for line in f:
                updated, issue_id, key, project, offset, length = line.rstrip("\n").split("\t")
                self._index[issue_id] = [float(updated), key, project, int(offset), int(length)]
                self._by_key[key] = issue_id
        self._overlay: dict[str, dict[str, Any]] = {}  # issues changed through the store
        self._deleted: set[str] = set()
        self._query_cache: dict[tuple[Any, ...], list[str]] = {}
        self._self_base: str | None = None

    # --- reading ------------------------------------------------------------------------------
    def issue(self, id_or_key: str) -> dict[str, Any] | None:
        with self._lock:
            issue_id = self._by_key.get(id_or_key, id_or_key)
            if issue_id in self._deleted or issue_id not in self._index:
                return None
            if issue_id in self._overlay:
                return self._overlay[issue_id]
            _, _, _, offset, length = self._index[issue_id]
        with (self.folder / "issues.jsonl").open("rb") as f:
            f.seek(offset)
            return _loads(f.read(length))

    def search_ids(self, projects: set[str] | None, since: float | None, descending: bool) -> list[str]:
        cache_key = (frozenset(projects) if projects is not None else None, since, descending)
        with self._lock:
            cached = self._query_cache.get(cache_key)
            if cached is None:
                rows = [
                    (entry[0], int(issue_id), issue_id)
                    for issue_id, entry in self._index.items()
                    if issue_id not in self._deleted
                    and (projects is None or entry[2] in projects)
                    and (since is None or entry[0] >= since)
                ]
                rows.sort(reverse=descending)
                cached = [r[2] for r in rows]
                self._query_cache[cache_key] = cached
            return cached

    def refs(self, ids: list[str]) -> list[dict[str, Any]]:
        """`{id, key, self}` of these issues, as an id-only search returns them, from the index."""
        if self._self_base is None and ids:  # the site's base URL the sample's issues were written with
            issue = self.issue(ids[0]) or {}
            self._self_base = str(issue.get("self", "")).rsplit("/rest/api/", 1)[0]
        with self._lock:
            return [{"id": i, "key": self._index[i][1], "self": f"{self._self_base}/rest/api/3/issue/{i}"}
                    for i in ids if i in self._index and i not in self._deleted]

    def __len__(self) -> int:
        return len(self._index) - len(self._deleted)

    # --- mutations (tests simulate a day of work) ------------------------------------------------
    def transition(self, id_or_key: str, to_status: str, at: datetime | None = None,
                   resolution: str | None = None) -> dict[str, Any]:
        """Move an issue to `to_status` at `at` (default now), adding a changelog history."""
        at = at or datetime.now(UTC)
        with self._lock:
            issue = self.issue(id_or_key)
            if issue is None:
                raise KeyError(id_or_key)
            fields = issue["fields"]
            new = STATUS[to_status]
            old = fields["status"]
            items = [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": old["id"],
                      "fromString": old["name"], "to": new.id, "toString": new.name}]
            if new.category == "done":
                resolution = resolution or "Done"
                items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": None,
                              "fromString": None, "to": RESOLUTIONS[resolution], "toString": resolution})
                fields["resolution"] = {"id": RESOLUTIONS[resolution], "name": resolution}
                fields["resolutiondate"] = jira_time(at, 0)
            fields["status"] = status_ref(new)
            return self._record(issue, items, at)

    def record(self, id_or_key: str, items: list[dict[str, Any]], at: datetime | None = None) -> dict[str, Any]:
        """Add a changelog history with these items, as a site recorded them (e.g. a real site's `Parent`
        item without a fieldId), at `at` (default now); the issue's fields stay as they are."""
        with self._lock:
            issue = self.issue(id_or_key)
            if issue is None:
                raise KeyError(id_or_key)
            return self._record(issue, items, at or datetime.now(UTC))

    def _record(self, issue: dict[str, Any], items: list[dict[str, Any]], at: datetime) -> dict[str, Any]:
        fields = issue["fields"]
        fields["updated"] = jira_time(at, 0)
        histories = issue["changelog"]["histories"]
        histories.append({"id": f"{issue['id']}{len(histories):04d}",
                          "author": histories[-1]["author"] if histories else fields["reporter"],
                          "created": jira_time(at, 0), "items": items})
        issue["changelog"].update(total=len(histories), maxResults=len(histories))
        self._overlay[issue["id"]] = issue
        self._index[issue["id"]][0] = at.timestamp()
        self._query_cache.clear()
        return issue

    def projects(self) -> list[dict[str, Any]]:
        """The projects of the issues, as Jira describes them (id, key, name), by key."""
        with self._lock:
            first: dict[str, str] = {}
            for issue_id, entry in self._index.items():
                first.setdefault(entry[2], issue_id)
        out = []
        for key in sorted(first):
            project = (self.issue(first[key]) or {}).get("fields", {}).get("project") or {"key": key}
            out.append({"id": project.get("id"), "key": key, "name": project.get("name", key)})
        return out

    def delete(self, id_or_key: str) -> None:
        with self._lock:
            self._deleted.add(self._by_key.get(id_or_key, id_or_key))
            self._query_cache.clear()


def _token(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode()


def _position(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        raise JqlError("The provided next page token is invalid or expired.") from None


def _shape(issue: dict[str, Any], fields: list[str], expand_changelog: bool) -> dict[str, Any]:
    out = {"id": issue["id"], "key": issue["key"], "self": issue["self"]}
    if fields == ["id"] or fields == ["key"] or fields == ["id", "key"]:
        return out
    if "*all" in fields or "*navigable" in fields:
        out["fields"] = issue["fields"]
    else:
        out["fields"] = {name: issue["fields"].get(name) for name in fields}
    if expand_changelog:
        histories = issue["changelog"]["histories"]
        tail = histories[-EMBEDDED_CHANGELOG_MAX:]
        out["changelog"] = {"startAt": len(histories) - len(tail), "maxResults": len(tail),
                            "total": len(histories), "histories": tail}
    return out


def register(router: Router, folder: Path) -> JiraStore:
    store = JiraStore(folder)

    def authorised(req: Request) -> bool:
        return req.headers.get("Authorization", "").startswith("Basic ")

    def unauthorised() -> Response:
        return Response(401, {"errorMessages": ["Client must be authenticated to access this resource."]})

    def search(req: Request) -> Response:
        if not authorised(req):
            return unauthorised()
        params = dict(req.body or {})
        for name in ("jql", "nextPageToken", "maxResults", "fields", "expand"):
            if name not in params and req.arg(name) is not None:
                params[name] = req.arg(name)
        fields = params.get("fields") or ["id"]
        if isinstance(fields, str):
            fields = [f.strip() for f in fields.split(",") if f.strip()]
        expand = params.get("expand") or ""
        expand_changelog = "changelog" in (expand if isinstance(expand, str) else ",".join(expand))
        id_only = fields in (["id"], ["key"], ["id", "key"])
        limit = min(int(params.get("maxResults") or 50), ID_ONLY_MAX if id_only else SEARCH_MAX)
        try:
            projects, since, descending = parse_jql(params.get("jql") or "")
            start = _position(params.get("nextPageToken"))
        except JqlError as exc:
            return Response(400, {"errorMessages": [str(exc)]})
        ids = store.search_ids(projects, since, descending)
        page = ids[start : start + limit]
        if id_only:  # ids and keys are in the index: no issue is read from disk
            body: dict[str, Any] = {"issues": store.refs(page)}
        else:
            issues = [i for i in (store.issue(x) for x in page) if i is not None]
            body = {"issues": [_shape(i, fields, expand_changelog) for i in issues]}
        if start + limit < len(ids):
            body["nextPageToken"] = _token(start + limit)
            body["isLast"] = False
        else:
            body["isLast"] = True
        return Response(200, body)

    def bulkfetch(req: Request) -> Response:
        if not authorised(req):
            return unauthorised()
        params = req.body or {}
        ids = params.get("issueIdsOrKeys") or []
        if not isinstance(ids, list) or not ids or len(ids) > BULKFETCH_MAX:
            return Response(400, {"errorMessages": [f"issueIdsOrKeys must list 1 to {BULKFETCH_MAX} issues"]})
        fields = params.get("fields") or ["*navigable"]
        expand = params.get("expand") or []
        expand_changelog = "changelog" in (expand.split(",") if isinstance(expand, str) else expand)
        issues = [i for i in (store.issue(str(x)) for x in ids) if i is not None]
        return Response(200, {"expand": "schema,names", "issues": [_shape(i, fields, expand_changelog) for i in issues],
                              "issueErrors": []})

    def changelog(req: Request) -> Response:
        if not authorised(req):
            return unauthorised()
        issue = store.issue(req.params["key"])
        if issue is None:
            return Response(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]})
        histories = issue["changelog"]["histories"]
        start = req.int_arg("startAt", 0)
        limit = min(req.int_arg("maxResults", CHANGELOG_MAX), CHANGELOG_MAX)
        values = histories[start : start + limit]
        return Response(200, {
            "self": f"{req.base_url}{req.path}", "maxResults": limit, "startAt": start, "total": len(histories),
            "isLast": start + limit >= len(histories), "values": values,
        })

    def fields(req: Request) -> Response:
        return Response(200, store.fields) if authorised(req) else unauthorised()

    def statuses(req: Request) -> Response:
        return Response(200, store.statuses) if authorised(req) else unauthorised()

    def project_search(req: Request) -> Response:
        if not authorised(req):
            return unauthorised()
        projects = store.projects()
        start = req.int_arg("startAt", 0)
        limit = min(req.int_arg("maxResults", 50), 100)
        values = projects[start : start + limit]
        return Response(200, {"startAt": start, "maxResults": limit, "total": len(projects),
                              "isLast": start + limit >= len(projects), "values": values})

    router.add("GET", r"/rest/api/3/search/jql", search)
    router.add("POST", r"/rest/api/3/search/jql", search)
    router.add("POST", r"/rest/api/3/issue/bulkfetch", bulkfetch)
    router.add("GET", r"/rest/api/3/issue/(?P<key>[^/]+)/changelog", changelog)
    router.add("GET", r"/rest/api/3/field", fields)
    router.add("GET", r"/rest/api/3/status", statuses)
    router.add("GET", r"/rest/api/3/project/search", project_search)
    return store
