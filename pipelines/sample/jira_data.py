"""Jira Cloud data of the sample organisation, in REST v3 shape with complete changelogs.

Per team: initiatives (per value stream), epics with outcome fields in Atlassian Document Format,
stories/tasks/bugs/security items with realistic workflows (waiting in review/QA/release, blocked,
reopened after done, canceled, done without ever being active, still in progress at the anchor),
incidents, cross-team "Blocks" links, and one planted issue with more than 250 changelog histories.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pipelines.sample.world import (
    FEATURE_FACTORY_STREAM,
    REVIEW_BOTTLENECK_TEAM,
    Person,
    TeamSpec,
    World,
)

FIELD_TEAM = "Team"
FIELD_ANTICIPATED = "Anticipated outcome"
FIELD_ACTUAL = "Actual outcome"
FIELD_VERDICT = "Outcome verdict"
FIELD_KEY_RESULT = "Key result"

CUSTOM_FIELDS = {
    FIELD_TEAM: ("customfield_10001", "com.atlassian.jira.plugin.system.customfieldtypes:atlassian-team", "team"),
    FIELD_ANTICIPATED: ("customfield_10050", "com.atlassian.jira.plugin.system.customfieldtypes:textarea", "string"),
    FIELD_ACTUAL: ("customfield_10051", "com.atlassian.jira.plugin.system.customfieldtypes:textarea", "string"),
    FIELD_VERDICT: ("customfield_10052", "com.atlassian.jira.plugin.system.customfieldtypes:select", "option"),
    FIELD_KEY_RESULT: ("customfield_10053", "com.atlassian.jira.plugin.system.customfieldtypes:textfield", "string"),
    "Story Points": ("customfield_10016", "com.atlassian.jira.plugin.system.customfieldtypes:float", "number"),
}
TEAM_FIELD_ID = CUSTOM_FIELDS[FIELD_TEAM][0]
ANTICIPATED_ID = CUSTOM_FIELDS[FIELD_ANTICIPATED][0]
ACTUAL_ID = CUSTOM_FIELDS[FIELD_ACTUAL][0]
VERDICT_ID = CUSTOM_FIELDS[FIELD_VERDICT][0]
KEY_RESULT_ID = CUSTOM_FIELDS[FIELD_KEY_RESULT][0]


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str  # new | indeterminate | done
    flow_state: str | None  # mapping in the sample org config; None = deliberately unmapped


STATUSES = [
    Status("10000", "Backlog", "new", "backlog"),
    Status("10001", "To Do", "new", "backlog"),
    Status("3", "In Progress", "indeterminate", "active"),
    Status("10002", "In Review", "indeterminate", "waiting"),
    Status("10003", "Blocked", "indeterminate", "waiting"),
    Status("10004", "Ready for QA", "indeterminate", "waiting"),
    Status("10005", "In QA", "indeterminate", "active"),
    Status("10006", "Ready for Release", "indeterminate", "waiting"),
    Status("10007", "Done", "done", "done"),
    # Not in the sample's mapping on purpose: the status-category fallback and the warning test use it.
    Status("10008", "Awaiting Customer", "indeterminate", None),
]
STATUS = {s.name: s for s in STATUSES}
CATEGORY_IDS = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
RESOLUTIONS = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002"}
ISSUE_TYPES = {
    "Initiative": ("10100", 2), "Epic": ("10000", 1), "Story": ("10001", 0), "Task": ("10002", 0),
    "Bug": ("10003", 0), "Security": ("10004", 0), "Incident": ("10005", 0),
}
PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low")]
OFFSETS = [0, 60, 120, -300, 330, -480, 60, 0]  # minutes east of UTC, picked per person
EMBEDDED_CHANGELOG_MAX = 40  # what the search endpoint embeds; the rest must be fetched

OUTCOME_TEXTS = [
    "Reduce checkout abandonment by 10% for returning customers within two quarters.",
    "Cut the p95 latency of card authorisation below 300 ms so partners stop timing out.",
    "Halve the onboarding time of a new merchant from 10 to 5 working days.",
    "Enable self-service database provisioning so stream teams ship without platform tickets.",
    "Raise weekly active mobile users by 8% through faster app start-up.",
    "Reduce false-positive fraud declines by 20% without raising chargebacks.",
    "Make every service deployable on demand with a paved road pipeline.",
]
PLACEHOLDERS = ["TBD", "tbd", "n/a", "-", "todo"]
VERDICTS = [("20001", "Achieved"), ("20002", "Partially achieved"), ("20003", "Not achieved")]


def jira_time(instant: datetime, offset_minutes: int) -> str:
    """Jira's timestamp format, e.g. 2025-03-04T10:15:30.123+0100, in the author's time zone."""
    local = instant.astimezone(timezone(timedelta(minutes=offset_minutes)))
    sign = "+" if offset_minutes >= 0 else "-"
    hh, mm = divmod(abs(offset_minutes), 60)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}{sign}{hh:02d}{mm:02d}"


def adf(*paragraphs: str, mention: Person | None = None, bullets: list[str] | None = None) -> dict:
    """Atlassian Document Format: paragraphs, an optional @mention and a bullet list."""
    content: list[dict[str, Any]] = []
    for i, text in enumerate(paragraphs):
        nodes: list[dict[str, Any]] = [{"type": "text", "text": text}]
        if mention is not None and i == 0:
            nodes += [
                {"type": "text", "text": " Owner: "},
                {"type": "mention", "attrs": {"id": mention.account_id, "text": "@" + mention.display_name}},
            ]
        if i == 0 and len(paragraphs) > 1:
            nodes[0]["marks"] = [{"type": "strong"}]
        content.append({"type": "paragraph", "content": nodes})
    if bullets:
        content.append(
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": b}]}]}
                    for b in bullets
                ],
            }
        )
    return {"type": "doc", "version": 1, "content": content}


def okr_catalogue(world: World) -> list[dict[str, Any]]:
    """Two years of company objectives with key results, and one team-level cascade."""
    objectives = []
    quarters = _quarters(world)
    for qi, (year, q) in enumerate(quarters):
        oid = f"O-{year}Q{q}"
        objectives.append(
            {
                "id": oid,
                "title": ["Grow revenue from returning customers", "Ship faster with confidence",
                          "Win the mobile market", "Lower the cost to serve"][qi % 4],
                "level": "company",
                "key_results": [
                    {"id": f"KR-{year}Q{q}-{n}", "title": f"Key result {n} of {year} Q{q}"} for n in (1, 2, 3)
                ],
            }
        )
    last = quarters[-1]
    objectives.append(
        {
            "id": "O-PLATFORM-PAVED-ROAD",
            "title": "Paved road for every stream-aligned team",
            "level": "team",
            "owner": "Head of Platform",
            "parent_key_result": f"KR-{last[0]}Q{last[1]}-2",
            "key_results": [{"id": "KR-PAVED-1", "title": "90% of services on the paved-road pipeline"}],
        }
    )
    return objectives


def _quarters(world: World) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    cursor = world.start
    while cursor < world.end:
        key = (cursor.year, (cursor.month - 1) // 3 + 1)
        if key not in out:
            out.append(key)
        cursor += timedelta(days=28)
    return out


def field_catalogue() -> list[dict[str, Any]]:
    system = [
        ("summary", "Summary", "string"), ("status", "Status", "status"), ("issuetype", "Issue Type", "issuetype"),
        ("project", "Project", "project"), ("resolution", "Resolution", "resolution"),
        ("created", "Created", "datetime"), ("updated", "Updated", "datetime"),
        ("resolutiondate", "Resolved", "datetime"), ("labels", "Labels", "array"),
        ("components", "Components", "array"), ("priority", "Priority", "priority"),
        ("parent", "Parent", "issuelink"), ("assignee", "Assignee", "user"), ("reporter", "Reporter", "user"),
        ("issuelinks", "Linked Issues", "array"),
    ]
    fields = [
        {"id": fid, "key": fid, "name": name, "custom": False, "orderable": True, "navigable": True,
         "searchable": True, "clauseNames": [fid], "schema": {"type": typ, "system": fid}}
        for fid, name, typ in system
    ]
    for name, (fid, custom, typ) in CUSTOM_FIELDS.items():
        fields.append(
            {"id": fid, "key": fid, "name": name, "untranslatedName": name, "custom": True, "orderable": True,
             "navigable": True, "searchable": True, "clauseNames": [f"cf[{fid.split('_')[1]}]", name],
             "schema": {"type": typ, "custom": custom, "customId": int(fid.split("_")[1])}}
        )
    return fields


def status_catalogue() -> list[dict[str, Any]]:
    return [
        {
            "self": f"/rest/api/3/status/{s.id}", "id": s.id, "name": s.name, "description": "",
            "statusCategory": {"id": CATEGORY_IDS[s.category][0], "key": s.category,
                               "colorName": CATEGORY_IDS[s.category][2], "name": CATEGORY_IDS[s.category][1]},
        }
        for s in STATUSES
    ]


def _person_ref(p: Person) -> dict[str, Any]:
    return {
        "accountId": p.account_id, "displayName": p.display_name, "emailAddress": p.email,
        "active": True, "timeZone": "Europe/Berlin", "accountType": "atlassian",
    }


def status_ref(s: Status) -> dict[str, Any]:
    cid, cname, color = CATEGORY_IDS[s.category]
    category = {"id": cid, "key": s.category, "colorName": color, "name": cname}
    return {"id": s.id, "name": s.name, "statusCategory": category}


class _Issue:
    """An issue under construction: created, then transitioned; rendered to Jira JSON at the end."""

    __slots__ = ("id", "key", "team", "type", "created", "reporter", "assignee", "status", "resolution",
                 "resolved", "histories", "labels", "components", "parent", "summary", "extra", "links",
                 "updated", "priority", "project_status")

    def __init__(self, team: TeamSpec, itype: str, created: datetime, reporter: Person, summary: str):
        self.id = ""
        self.key = ""
        self.team = team
        self.type = itype
        self.created = created
        self.updated = created
        self.reporter = reporter
        self.assignee: Person | None = None
        self.status = STATUS["Backlog"]
        self.resolution: str | None = None
        self.resolved: datetime | None = None
        self.histories: list[tuple[datetime, Person, list[dict[str, Any]]]] = []
        self.labels: list[str] = []
        self.components: list[str] = []
        self.parent: _Issue | None = None
        self.summary = summary
        self.extra: dict[str, Any] = {}
        self.links: list[tuple[str, _Issue]] = []  # ("outward"|"inward", other)
        self.priority = PRIORITIES[2]

    def change(self, at: datetime, who: Person, items: list[dict[str, Any]]) -> None:
        self.histories.append((at, who, items))
        self.updated = max(self.updated, at)

    def move(self, at: datetime, who: Person, to: str, resolution: str | None = None) -> None:
        new = STATUS[to]
        items = [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": self.status.id,
                  "fromString": self.status.name, "to": new.id, "toString": new.name}]
        if new.category == "done" and resolution != self.resolution:
            items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                          "from": RESOLUTIONS.get(self.resolution or ""), "fromString": self.resolution,
                          "to": RESOLUTIONS[resolution or "Done"], "toString": resolution or "Done"})
            self.resolution = resolution or "Done"
            self.resolved = at
        elif new.category != "done" and self.resolution is not None:
            items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                          "from": RESOLUTIONS[self.resolution], "fromString": self.resolution,
                          "to": None, "toString": None})
            self.resolution = None
            self.resolved = None
        self.status = new
        self.change(at, who, items)


class _TeamGenerator:
    def __init__(self, world: World, team: TeamSpec, okr_ids: list[str]):
        self.world = world
        self.team = team
        self.rng = world.rng("jira", team.name)
        self.okr_ids = okr_ids
        self.offsets = {p.account_id: OFFSETS[i % len(OFFSETS)] for i, p in enumerate(team.members)}
        bottleneck = team.base_name == REVIEW_BOTTLENECK_TEAM
        self.review_wait_days = 4.5 if bottleneck else 0.6
        self.volume = 75 * min(world.scale, 1.0)  # items per month; --scale >= 1 adds teams instead

    def who(self) -> Person:
        return self.rng.choice(self.team.members)

    def _wait(self, mean_days: float) -> timedelta:
        if mean_days <= 0:
            return timedelta(0)
        return timedelta(days=self.rng.expovariate(1 / mean_days))

    def epics(self, initiatives: list[_Issue]) -> list[_Issue]:
        out = []
        start, end = self.world.start, self.world.end
        n = max(4, int(round(24 * 1.3 * min(self.world.scale, 1.0))))
        ffr = self.team.value_stream.split(" ")[0] == FEATURE_FACTORY_STREAM
        for i in range(n):
            created = start + (end - start) * (i / n) + self._wait(3)
            if created >= end:
                created = end - timedelta(days=1)
            epic = _Issue(self.team, "Epic", created, self.who(), f"{self.team.project_name} epic {i + 1}")
            epic.parent = self.rng.choice(initiatives) if initiatives and self.rng.random() < 0.8 else None
            has_outcome = self.rng.random() < (0.2 if ffr else 0.85)
            if has_outcome:
                epic.extra[ANTICIPATED_ID] = adf(
                    self.rng.choice(OUTCOME_TEXTS),
                    "Measured on the product dashboard.",
                    mention=self.who() if self.rng.random() < 0.3 else None,
                    bullets=["Baseline recorded", "Target agreed with the outcome owner"],
                )
            elif self.rng.random() < 0.5:
                epic.extra[ANTICIPATED_ID] = adf(self.rng.choice(PLACEHOLDERS))
            if self.rng.random() < 0.75:
                kr = self.rng.choice(self.okr_ids)
                epic.extra[KEY_RESULT_ID] = kr if self.rng.random() < 0.9 else kr.replace("KR-", "KR-OLD-")
            # lifecycle: epics run 1-4 months
            t = created + self._wait(10)
            if t < end:
                epic.move(t, self.who(), "In Progress")
                done_at = t + timedelta(days=self.rng.uniform(30, 120))
                if done_at < end:
                    canceled = self.rng.random() < 0.08
                    epic.move(done_at, self.who(), "Done", "Won't Do" if canceled else "Done")
                    results_at = done_at + timedelta(days=self.rng.uniform(10, 80))
                    if not canceled and results_at < end and self.rng.random() < (0.3 if ffr else 0.65):
                        verdict = self.rng.choice(VERDICTS)
                        text = "Outcome measured: " + self.rng.choice(["target met", "half of target", "no change"])
                        epic.extra[ACTUAL_ID] = adf(text)
                        epic.extra[VERDICT_ID] = {"id": verdict[0], "value": verdict[1]}
                        epic.change(results_at, self.who(), [
                            {"field": FIELD_ACTUAL, "fieldtype": "custom", "fieldId": ACTUAL_ID, "from": None,
                             "fromString": None, "to": None, "toString": text},
                            {"field": FIELD_VERDICT, "fieldtype": "custom", "fieldId": VERDICT_ID, "from": None,
                             "fromString": None, "to": verdict[0], "toString": verdict[1]},
                        ])
            out.append(epic)
        return out

    def work_items(self, epics: list[_Issue]) -> list[_Issue]:
        start, end = self.world.start, self.world.end
        months = (end - start).days / 30.44
        n = int(self.volume * months)
        items = []
        for _ in range(n):
            created = start + timedelta(seconds=self.rng.uniform(0, (end - start).total_seconds()))
            roll = self.rng.random()
            itype = "Bug" if roll < 0.22 else "Task" if roll < 0.40 else "Security" if roll < 0.43 else "Story"
            item = _Issue(self.team, itype, created, self.who(), f"{itype} for {self.team.project_name}")
            item.priority = self.rng.choice(PRIORITIES)
            if itype == "Task" and self.rng.random() < 0.45:
                item.labels.append("tech-debt")
            if self.rng.random() < 0.1:
                item.labels.append("customer-request")
            repos = [r.split("/", 1)[1] for r in self.team.repositories]
            item.components.append(self.rng.choice(repos))
            live = [e for e in epics if e.created <= created and (e.resolved is None or e.resolved > created)]
            if live and self.rng.random() < 0.85:
                item.parent = self.rng.choice(live)
            if self.rng.random() < 0.3:
                item.extra[CUSTOM_FIELDS["Story Points"][0]] = float(self.rng.choice([1, 2, 3, 5, 8]))
            self._lifecycle(item)
            items.append(item)
        return items

    def _lifecycle(self, item: _Issue) -> None:
        end = self.world.end
        rng = self.rng
        t = item.created
        if rng.random() < 0.5 and item.team.base_name != "mobile":
            item.move(t + timedelta(minutes=rng.uniform(1, 60)), item.reporter, "To Do")
        t += self._wait(9)
        if t >= end:
            return
        fate = rng.random()
        if fate < 0.05:  # canceled from the backlog
            item.move(t, self.who(), "Done", rng.choice(["Won't Do", "Duplicate"]))
            return
        if fate < 0.08:  # done without ever being active
            item.move(t, self.who(), "Done")
            return
        assignee = self.who()
        if rng.random() < 0.6:
            item.change(t - timedelta(minutes=5), assignee, [
                {"field": "assignee", "fieldtype": "jira", "fieldId": "assignee",
                 "from": None, "fromString": None, "to": assignee.account_id, "toString": assignee.display_name}])
        item.assignee = assignee
        steps = self._steps(item, fate)
        for status, mean_days in steps:
            if t >= end:
                return
            if status == "Done":
                item.move(t, assignee, "Done", "Won't Do" if fate > 0.95 else "Done")
            else:
                item.move(t, assignee, status)
            t += self._wait(mean_days)
        if fate < 0.12 and item.resolution == "Done":  # reopened after done, then done again
            t += self._wait(4)
            for status, mean_days in [("In Progress", 1.5), ("In Review", self.review_wait_days), ("Done", 0)]:
                if t >= end:
                    return
                item.move(t, assignee, status, "Done" if status == "Done" else None)
                t += self._wait(mean_days)

    def _steps(self, item: _Issue, fate: float) -> list[tuple[str, float]]:
        rng = self.rng
        steps: list[tuple[str, float]] = [("In Progress", 2.5)]
        if rng.random() < 0.12:
            unmapped = item.team.base_name == "data-platform" and rng.random() < 0.5
            blocked = "Awaiting Customer" if unmapped else "Blocked"
            steps += [(blocked, 3.0), ("In Progress", 1.5)]
        steps.append(("In Review", self.review_wait_days))
        if rng.random() < 0.25:  # rework after review
            steps += [("In Progress", 1.0), ("In Review", self.review_wait_days / 2)]
        if item.type in ("Story", "Bug") and rng.random() < 0.6:
            steps += [("Ready for QA", 0.8), ("In QA", 0.6)]
        steps += [("Ready for Release", 1.2), ("Done", 0)]
        if fate > 0.95:  # canceled while in progress
            steps = steps[:2] + [("Done", 0)]
        return steps

    def incidents(self) -> list[_Issue]:
        if self.team.topology not in ("stream-aligned", "platform"):
            return []
        out = []
        start, end = self.world.start, self.world.end
        n = int(round(2.5 * (end - start).days / 30.44 * min(self.world.scale, 1.0)))
        repos = [r.split("/", 1)[1] for r in self.team.repositories]
        for _ in range(n):
            created = start + timedelta(seconds=self.rng.uniform(0, (end - start).total_seconds()))
            inc = _Issue(self.team, "Incident", created, self.who(), "Production incident")
            inc.labels.append("incident")
            inc.components.append(self.rng.choice(repos))
            inc.priority = self.rng.choice(PRIORITIES[:2])
            t = created + timedelta(minutes=self.rng.uniform(2, 30))
            if t < end:
                inc.move(t, self.who(), "In Progress")
                t += timedelta(hours=self.rng.expovariate(1 / 5))
                if t < end:
                    inc.move(t, self.who(), "Done")
            out.append(inc)
        return out


def _initiatives(world: World, group: list[TeamSpec]) -> dict[str, list[_Issue]]:
    """Initiatives per value stream, owned by the stream's first team's project."""
    out: dict[str, list[_Issue]] = {}
    for team in group:
        if team.value_stream in out:
            continue
        rng = world.rng("jira-initiatives", team.value_stream)
        inits = []
        for i in range(4):
            created = world.start + (world.end - world.start) * (i / 4) + timedelta(days=2)
            owner = rng.choice(team.members)
            init = _Issue(team, "Initiative", created, owner, f"{team.value_stream} initiative {i + 1}")
            init.extra[ANTICIPATED_ID] = adf(rng.choice(OUTCOME_TEXTS))
            init.move(created + timedelta(days=5), owner, "In Progress")
            done_at = created + timedelta(days=170)
            if done_at < world.end:
                init.move(done_at, owner, "Done")
            inits.append(init)
        out[team.value_stream] = inits
    return out


def _plant_long_history(world: World, team: TeamSpec, items: list[_Issue]) -> None:
    """One issue ping-pongs between In Progress and In Review: 260+ histories (beyond any page size)."""
    rng = world.rng("jira-long-history")
    created = world.start + timedelta(days=30)
    item = _Issue(team, "Story", created, team.members[0], "Flaky integration that keeps bouncing in review")
    item.components.append(team.repositories[0].split("/", 1)[1])
    t = created + timedelta(days=1)
    for i in range(130):
        item.move(t, team.members[i % len(team.members)], "In Progress")
        t += timedelta(hours=rng.uniform(1, 20))
        item.move(t, team.members[(i + 1) % len(team.members)], "In Review")
        t += timedelta(hours=rng.uniform(1, 20))
    item.move(t, team.members[0], "Done")
    items.append(item)


def _link_blockers(world: World, group_items: list[list[_Issue]]) -> None:
    rng = world.rng("jira-links")
    pools = [[i for i in items if i.type in ("Story", "Task", "Bug")] for items in group_items]
    for ti, pool in enumerate(pools):
        others = [p for tj, p in enumerate(pools) if tj != ti and p]
        for item in pool:
            if rng.random() < 0.03 and others:
                blocker = rng.choice(rng.choice(others))
                blocker.links.append(("outward", item))
                item.links.append(("inward", blocker))


def _render(item: _Issue, base: str, offsets: dict[str, int]) -> dict[str, Any]:
    off = offsets.get(item.reporter.account_id, 0)
    histories = []
    for n, (at, who, items) in enumerate(sorted(item.histories, key=lambda h: h[0])):
        histories.append({
            "id": f"{item.id}{n:04d}",
            "author": _person_ref(who),
            "created": jira_time(at, offsets.get(who.account_id, off)),
            "items": items,
        })
    itype_id, level = ISSUE_TYPES[item.type]
    fields: dict[str, Any] = {
        "summary": item.summary,
        "issuetype": {"id": itype_id, "name": item.type, "subtask": False, "hierarchyLevel": level},
        "project": {"id": item.team.project_id, "key": item.team.project_key, "name": item.team.project_name},
        "status": status_ref(item.status),
        "resolution": {"id": RESOLUTIONS[item.resolution], "name": item.resolution} if item.resolution else None,
        "created": jira_time(item.created, off),
        "updated": jira_time(item.updated, off),
        "resolutiondate": jira_time(item.resolved, off) if item.resolved else None,
        "labels": item.labels,
        "components": [{"id": str(zlib.crc32(c.encode()) % 100000), "name": c} for c in item.components],
        "priority": {"id": item.priority[0], "name": item.priority[1]},
        "assignee": _person_ref(item.assignee) if item.assignee else None,
        "reporter": _person_ref(item.reporter),
        "creator": _person_ref(item.reporter),
        TEAM_FIELD_ID: {"id": f"team-{item.team.project_id}", "name": item.team.name, "title": item.team.name,
                        "isVisible": True, "isVerified": False},
        "issuelinks": [
            {
                "id": f"{min(int(item.id), int(o.id))}{max(int(item.id), int(o.id))}",
                "type": {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                ("outwardIssue" if d == "outward" else "inwardIssue"): {
                    "id": o.id, "key": o.key, "fields": {"summary": o.summary, "status": status_ref(o.status)}},
            }
            for d, o in item.links
        ],
    }
    if item.parent is not None:
        p = item.parent
        fields["parent"] = {"id": p.id, "key": p.key, "self": f"{base}/rest/api/3/issue/{p.id}", "fields": {
            "summary": p.summary, "status": status_ref(p.status),
            "issuetype": {"id": ISSUE_TYPES[p.type][0], "name": p.type, "hierarchyLevel": ISSUE_TYPES[p.type][1]}}}
    for fid in (ANTICIPATED_ID, ACTUAL_ID, VERDICT_ID, KEY_RESULT_ID, CUSTOM_FIELDS["Story Points"][0]):
        fields[fid] = item.extra.get(fid)
    return {
        "expand": "renderedFields,names,schema,operations,changelog",
        "id": item.id,
        "self": f"{base}/rest/api/3/issue/{item.id}",
        "key": item.key,
        "fields": fields,
        "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories},
    }


def write(world: World, folder: Path) -> dict[str, int]:
    """Write fields.json, statuses.json, issues.jsonl and its index; returns counts."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fields.json").write_text(json.dumps(field_catalogue(), indent=1), encoding="utf-8")
    (folder / "statuses.json").write_text(json.dumps(status_catalogue(), indent=1), encoding="utf-8")
    okr_ids = [kr["id"] for o in okr_catalogue(world) for kr in o["key_results"]]
    next_id = 10000
    issues = histories = 0
    group_size = 8  # one copy of the template organisation at a time keeps memory bounded
    with (folder / "issues.jsonl").open("wb") as out, (folder / "issues.index.tsv").open("w") as index:
        for g in range(0, len(world.teams), group_size):
            group = world.teams[g : g + group_size]
            initiatives = _initiatives(world, group)
            per_team: list[list[_Issue]] = []
            offsets: dict[str, int] = {}
            for team in group:
                gen = _TeamGenerator(world, team, okr_ids)
                offsets |= gen.offsets
                inits = [i for i in initiatives[team.value_stream] if i.team is team]
                epics = gen.epics(initiatives[team.value_stream])
                items = gen.work_items(epics) + gen.incidents()
                if g == 0 and team is group[0]:
                    _plant_long_history(world, team, items)
                per_team.append(inits + epics + items)
            for team_items in per_team:
                team_items.sort(key=lambda i: (i.created, i.summary))
                for n, item in enumerate(team_items, start=1):
                    next_id += 1
                    item.id = str(next_id)
                    item.key = f"{item.team.project_key}-{n}"
            _link_blockers(world, per_team)
            for team_items in per_team:
                for item in team_items:
                    line = (json.dumps(_render(item, "https://acme.atlassian.net", offsets), separators=(",", ":"))
                            + "\n").encode("utf-8")
                    index.write(f"{item.updated.timestamp():.3f}\t{item.id}\t{item.key}\t"
                                f"{item.team.project_key}\t{out.tell()}\t{len(line)}\n")
                    out.write(line)
                    issues += 1
                    histories += len(item.histories)
    return {"jira_issues": issues, "jira_histories": histories}

