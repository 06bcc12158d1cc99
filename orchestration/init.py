"""`flowmart init`: write the org config (flowmart.yml) from flowmart.example.yml. When Jira is configured
(SOURCES__JIRA__BASE_URL, _EMAIL, _API_TOKEN, or .dlt/secrets.toml), it is filled from the site so the first
real run works: one team per project with its ownership rule, the status mapping from the site's status
catalogue by status category (each line marked for review), and the custom fields it found by name. The
example's GitHub, Git, survey, delivery and OKR sections are left in, commented out, to fill in later."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from orchestration.runner import source_setting
from pipelines.http import ApiClient
from pipelines.orgconfig import CATEGORY_FLOW_STATE, EpicFields, parse_org_config
from pipelines.settings import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "flowmart.example.yml"
CATEGORY_NAME = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
LATER = ("okrs", "surveys", "github", "git", "delivery")  # commented out until the user fills them in


class InitError(ValueError):
    """flowmart init could not write the org config."""


def read_site(base_url: str, email: str, api_token: str) -> dict[str, list[dict[str, Any]]]:
    """The site's projects (id, key, name), statuses (name, statusCategory) and fields (id, name, custom)."""
    from pipelines.jira import AUTH_HINT

    client = ApiClient(base_url, auth=(email, api_token), auth_hint=AUTH_HINT)
    projects: list[dict[str, Any]] = []
    while True:
        page, _ = client.get("/rest/api/3/project/search", {"startAt": len(projects), "maxResults": 50})
        projects += page.get("values") or []
        if page.get("isLast", True) or not page.get("values"):
            break
    statuses, _ = client.get("/rest/api/3/status")
    fields, _ = client.get("/rest/api/3/field")
    return {"projects": projects, "statuses": statuses, "fields": fields}


def _block(lines: list[str], keys: list[str]) -> tuple[int, int]:
    """[start, end) of the lines of a key path (e.g. jira, status_mapping) of the YAML text, two spaces per
    level: from the key's line to the next line indented as little as it (comments included)."""
    start, end = 0, len(lines)
    for depth, key in enumerate(keys):
        indent = " " * (2 * depth)
        start = next(i for i in range(start, end) if re.match(rf"{indent}{re.escape(key)}:", lines[i]))
        end = next((i for i in range(start + 1, end)
                    if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= 2 * depth), end)
    return start, end


def _replace(text: str, keys: list[str], new: list[str] | None = None) -> str:
    """The text with the block of `keys` replaced by `new` lines, or commented out when `new` is None."""
    lines = text.splitlines()
    start, end = _block(lines, keys)
    while end > start + 1 and not lines[end - 1].strip():  # keep the blank lines after the block
        end -= 1
    if new is None:
        new = [f"# {line}" if line.strip() else line for line in lines[start:end]]
    return "\n".join(lines[:start] + new + lines[end:]) + "\n"


def _dump(data: Any, indent: int) -> list[str]:
    """YAML lines (quoted where YAML would read a value otherwise, e.g. a project key NO), indented; a list's
    mappings one a line ({name: ..., team: ...})."""
    flow = None if isinstance(data, list) else False
    return [" " * indent + line for line in yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000,
                                                           default_flow_style=flow).splitlines()]


def fill(text: str, site: dict[str, list[dict[str, Any]]]) -> tuple[str, list[str]]:
    """The example's text filled from the site; and what was filled, to print."""
    names: dict[str, str] = {}
    for project in sorted(site["projects"], key=lambda p: p["key"]):
        name = project.get("name") or project["key"]
        names[project["key"]] = name if name not in names.values() else f"{name} ({project['key']})"
    if not names:
        raise InitError("the Jira site shows no project to this account: check that it can browse the projects")
    text = _replace(text, ["organisation"], ["organisation: My organisation"])
    text = _replace(text, ["value_streams"], [
        "value_streams:",
        "  # review (flowmart init): every team is in this one value stream; name yours and move the teams",
        "  - name: My value stream"])
    text = _replace(text, ["teams"], [
        "teams:",
        "  # review (flowmart init): one team per Jira project, as a start; add members, topology, monthly_cost",
        *_dump([{"name": name, "value_stream": "My value stream"} for name in names.values()], 2)])
    text = _replace(text, ["ownership"], [
        "ownership:",
        "  # Tracker issue -> team. The first rule (top to bottom) whose criteria ALL match wins; a rule needs at",
        "  # least one of project, component, label, team_field. (flowmart init: one rule per project)",
        "  jira:",
        *_dump([{"project": key, "team": name} for key, name in names.items()], 4),
        "  # Git repository -> team and service, e.g. {repository: acme/checkout-web, team: checkout}",
        "  git: []"])
    text = _replace(text, ["jira", "jql"], [f"  # jql: project in ({', '.join(names)})"])

    states: dict[str, tuple[str, str]] = {}
    for status in site["statuses"]:
        category = (status.get("statusCategory") or {}).get("key", "indeterminate")
        states.setdefault(status["name"].lower(), (status["name"], category))
    mapping = ["  status_mapping:",
               "    # flowmart init: from the site's status catalogue, by status category (To Do -> backlog,",
               "    # In Progress -> active, Done -> done). Review each line: a status where work waits for",
               "    # someone (In Review, Blocked, Ready for QA...) is `waiting`; one where work was dropped is",
               "    # `canceled`.",
               '    "*":']
    order = {"new": 0, "indeterminate": 1, "done": 2}  # To Do, In Progress, Done; each by name
    for name, category in sorted(states.values(), key=lambda s: (order.get(s[1], 1), s[0])):
        line = _dump({name: CATEGORY_FLOW_STATE.get(category, "active")}, 6)[0]
        mapping.append(f"{line:<40} # review (category {CATEGORY_NAME.get(category, category)})")
    text = _replace(text, ["jira", "status_mapping"], mapping)

    by_name = {str(f.get("name", "")).lower(): f["name"] for f in site["fields"] if f.get("custom")}
    fields = ["  fields:"]
    found = []
    for key, default in EpicFields().model_dump().items():
        name = by_name.get(str(default).lower())
        if name:
            found.append(name)
            fields += _dump({key: name}, 4)
        else:
            fields.append(f"    {key}: null   # no custom field {default!r} on the site: name yours, or leave null")
    text = _replace(text, ["jira", "fields"], fields)
    for section in LATER:
        text = _replace(text, [section])
    filled = [f"  {len(names)} projects, each a team with its ownership rule: {', '.join(names)}",
              f"  {len(states)} statuses mapped by their status category (review them: `waiting` states)",
              f"  custom fields found: {', '.join(found) or 'none'}",
              f"  left commented out, to fill in when you use them: {', '.join(LATER)}"]
    return text, filled


def write_config(path: Path) -> list[str]:
    """Write the org config at `path`; returns the lines to print."""
    text = EXAMPLE.read_text(encoding="utf-8")
    settings = {key: source_setting("jira", key) for key in ("base_url", "email", "api_token")}
    if not any(settings.values()):
        path.write_text(text, encoding="utf-8")
        return [f"wrote {path}: a copy of flowmart.example.yml to edit (Jira is not configured: with "
                "SOURCES__JIRA__BASE_URL, SOURCES__JIRA__EMAIL and SOURCES__JIRA__API_TOKEN set, flowmart init "
                "fills it from your site)"]
    missing = [f"SOURCES__JIRA__{key.upper()}" for key, value in settings.items() if not value]
    if missing:
        raise InitError(f"Jira is configured in part: {', '.join(missing)} missing (or under [sources.jira] in "
                        ".dlt/secrets.toml); nothing was written")
    site = read_site(settings["base_url"], settings["email"], settings["api_token"])
    text, filled = fill(text, site)
    text = (f"# Written by `flowmart init` from flowmart.example.yml and the Jira site {settings['base_url']}.\n"
            "# Lines marked `review` are guesses to check.\n" + text)
    parse_org_config(yaml.safe_load(text), str(path))  # what init writes is a valid org config
    path.write_text(text, encoding="utf-8")
    return [f"wrote {path}, filled from {settings['base_url']}:", *filled,
            "next: review the lines marked `review`, then `flowmart run`"]
