"""The organisation config: one human-edited YAML file that describes value streams, teams, ownership,
status mapping, outcome fields, OKRs, the survey catalogue and the thresholds.

`load_org_config(path)` validates the file and raises `OrgConfigError` naming the file, the entry and
the bad value. `org_config_rows(config)` turns it into flat tables that the `org` dlt source lands in
the warehouse (dbt joins them; no dbt seeds are used as a loader).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

FlowState = Literal["backlog", "active", "waiting", "done", "canceled"]
# The flow state of a status the mapping leaves out, from its Jira status category (as the dbt models do).
CATEGORY_FLOW_STATE: dict[str, FlowState] = {"new": "backlog", "indeterminate": "active", "done": "done"}
FlowItemType = Literal["feature", "defect", "debt", "risk"]
Topology = Literal["stream-aligned", "platform", "enabling", "complicated-subsystem"]
Scale = Literal["likert_1_5", "scale_0_10", "yes_no"]


class OrgConfigError(ValueError):
    """The org config file is unreadable or invalid; the message names file, entry and bad value."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueStream(_Model):
    name: str
    owner: str | None = None
    description: str | None = None
    steps: list[str] = Field(
        default_factory=list,
        description="the statuses of the value stream map in order (default: inferred from the status history); "
        "the warehouse checks that each names a tracker status",
    )

    @field_validator("steps")
    @classmethod
    def _steps(cls, values: list[str]) -> list[str]:
        seen: set[str] = set()
        for value in values:
            if not value.strip():
                raise ValueError("a step must name a status, got an empty name")
            if value.strip().lower() in seen:
                raise ValueError(f"the status {value!r} is a step twice")
            seen.add(value.strip().lower())
        return [v.strip() for v in values]


class Team(_Model):
    name: str
    value_stream: str
    topology: Topology = "stream-aligned"
    members: list[str] = Field(default_factory=list, description="tracker account ids or e-mails")
    monthly_cost: float | None = Field(default=None, ge=0)


class JiraOwnershipRule(_Model):
    """First matching rule (in file order) decides an issue's team. Empty criteria match anything."""

    team: str
    project: str | None = None
    component: str | None = None
    label: str | None = None
    team_field: str | None = Field(default=None, description="value of the tracker's team field")

    @model_validator(mode="after")
    def _has_criterion(self) -> JiraOwnershipRule:
        if not any([self.project, self.component, self.label, self.team_field]):
            raise ValueError("an ownership rule needs at least one of project, component, label, team_field")
        return self


class GitOwnershipRule(_Model):
    repository: str = Field(description="owner/name for GitHub, or the folder name of a local repository")
    team: str
    service: str | None = None


class Ownership(_Model):
    jira: list[JiraOwnershipRule] = Field(default_factory=list)
    git: list[GitOwnershipRule] = Field(default_factory=list)


class EpicFields(_Model):
    """Names (as shown in Jira) of the custom fields that carry outcomes; resolved to ids at load."""

    anticipated_outcome: str | None = "Anticipated outcome"
    actual_outcome: str | None = "Actual outcome"
    outcome_verdict: str | None = "Outcome verdict"
    key_result: str | None = "Key result"
    team: str | None = "Team"


class FlowItemTypes(_Model):
    by_issue_type: dict[str, FlowItemType] = Field(
        default_factory=lambda: {
            "Bug": "defect",
            "Defect": "defect",
            "Incident": "defect",
            "Security": "risk",
            "Vulnerability": "risk",
            "Compliance": "risk",
            "Tech Debt": "debt",
        }
    )
    by_label: dict[str, FlowItemType] = Field(
        default_factory=lambda: {"tech-debt": "debt", "security": "risk", "compliance": "risk"}
    )
    default: FlowItemType = "feature"


class JiraSettings(_Model):
    jql: str | None = Field(default=None, description="scope of the load; default: every project in ownership")
    epic_issue_types: list[str] = Field(default_factory=lambda: ["Epic"])
    initiative_issue_types: list[str] = Field(default_factory=lambda: ["Initiative"])
    incident_issue_types: list[str] = Field(default_factory=lambda: ["Incident"])
    incident_labels: list[str] = Field(default_factory=lambda: ["incident"])
    canceled_resolutions: list[str] = Field(
        default_factory=lambda: ["Won't Do", "Won't Fix", "Duplicate", "Cancelled", "Canceled"]
    )
    status_mapping: dict[str, dict[str, FlowState]] = Field(
        default_factory=dict,
        description="project key (or '*' for every project) -> status name -> flow state",
    )
    fields: EpicFields = Field(default_factory=EpicFields)
    flow_item_types: FlowItemTypes = Field(default_factory=FlowItemTypes)


class KeyResult(_Model):
    id: str
    title: str


class Objective(_Model):
    id: str
    title: str
    level: Literal["company", "division", "team"] = "company"
    owner: str | None = None
    parent_key_result: str | None = None
    key_results: list[KeyResult] = Field(default_factory=list)


class SurveyQuestion(_Model):
    id: str
    text: str
    dimension: str
    scale: Scale = "likert_1_5"
    reverse_scored: bool = False


class Surveys(_Model):
    folder: str | None = Field(default=None, description="folder of survey exports, relative to this file")
    files: list[str] = Field(default_factory=list)
    wave: str | None = None
    load_free_text: bool = False
    questions: list[SurveyQuestion] = Field(default_factory=list)


class GitHubSettings(_Model):
    repositories: list[str] = Field(default_factory=list, description="owner/name")
    deployment_workflow_pattern: str | None = None
    production_environments: list[str] = Field(default_factory=lambda: ["production", "prod"])
    bot_names: list[str] = Field(default_factory=list)

    @field_validator("deployment_workflow_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return _valid_regex(value)


class GitSettings(_Model):
    repositories: list[str] = Field(default_factory=list, description="paths of local repositories")
    branches: list[str] = Field(default_factory=lambda: ["main"])
    deploy_tag_pattern: str | None = None
    load_files: bool = Field(default=True, description="land one row per changed file (else per-commit totals)")

    @field_validator("deploy_tag_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return _valid_regex(value)


class DeliverySettings(_Model):
    files: list[str] = Field(default_factory=list, description="delivery-events CSV/JSON-lines files (globs)")


class AiAssist(_Model):
    labels: list[str] = Field(default_factory=lambda: ["ai-assisted"])
    trailer_patterns: list[str] = Field(
        default_factory=lambda: [r"(?i)^co-authored-by:.*(copilot|claude|cursor|codex|gemini)"]
    )

    @field_validator("trailer_patterns")
    @classmethod
    def _regexes(cls, values: list[str]) -> list[str]:
        return [_valid_regex(v) for v in values]


class DoraSettings(_Model):
    band_set: Literal["2023", "2021"] = Field(default="2023", description="DORA report year of the band thresholds")


class Outcomes(_Model):
    placeholders: list[str] = Field(default_factory=lambda: ["tbd", "n/a", "na", "-", "todo", "none", "?"])
    min_length: int = Field(default=15, ge=0)
    closing_grace_days: int = Field(default=30, ge=0)


class OrgConfig(_Model):
    organisation: str = "My organisation"
    anonymity_threshold: int = Field(default=5, ge=1)
    value_streams: list[ValueStream]
    teams: list[Team]
    ownership: Ownership = Field(default_factory=Ownership)
    jira: JiraSettings = Field(default_factory=JiraSettings)
    okrs: list[Objective] = Field(default_factory=list)
    surveys: Surveys = Field(default_factory=Surveys)
    github: GitHubSettings = Field(default_factory=GitHubSettings)
    git: GitSettings = Field(default_factory=GitSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    ai_assist: AiAssist = Field(default_factory=AiAssist)
    dora: DoraSettings = Field(default_factory=DoraSettings)
    outcomes: Outcomes = Field(default_factory=Outcomes)

    @model_validator(mode="after")
    def _references(self) -> OrgConfig:
        streams = {v.name for v in self.value_streams}
        _unique("value_streams", [v.name for v in self.value_streams])
        _unique("teams", [t.name for t in self.teams])
        teams = {t.name for t in self.teams}
        for i, team in enumerate(self.teams):
            if team.value_stream not in streams:
                raise ValueError(
                    f"teams[{i}] ({team.name}): value_stream {team.value_stream!r} is not a declared value stream"
                )
        for kind, rules in (("jira", self.ownership.jira), ("git", self.ownership.git)):
            for i, rule in enumerate(rules):
                if rule.team not in teams:
                    raise ValueError(f"ownership.{kind}[{i}]: team {rule.team!r} is not a declared team")
        _unique("surveys.questions", [q.id for q in self.surveys.questions])
        _unique("okrs", [o.id for o in self.okrs])
        _unique("okrs[*].key_results", [kr.id for o in self.okrs for kr in o.key_results])
        krs = {kr.id for o in self.okrs for kr in o.key_results}
        for i, objective in enumerate(self.okrs):
            if objective.parent_key_result and objective.parent_key_result not in krs:
                raise ValueError(
                    f"okrs[{i}] ({objective.id}): parent_key_result {objective.parent_key_result!r} is unknown"
                )
        return self

    # convenience -----------------------------------------------------------------------------
    def team_value_stream(self) -> dict[str, str]:
        return {t.name: t.value_stream for t in self.teams}

    def jira_projects(self) -> list[str]:
        return sorted({r.project for r in self.ownership.jira if r.project})

    def jira_scope_jql(self) -> str | None:
        if self.jira.jql:
            return self.jira.jql
        projects = self.jira_projects()
        return f"project in ({', '.join(projects)})" if projects else None


def _valid_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {value!r} ({exc})") from exc
    return value


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what}: {name!r} is declared twice")
        seen.add(name)


def _describe(loc: tuple[Any, ...], data: Any) -> str:
    path = ""
    node = data
    if loc and loc[-1] == "[key]":  # a mapping's key, e.g. a project key of jira.status_mapping
        return f"{_describe(loc[:-2], data)}, a key"
    for part in loc:
        index = isinstance(part, int) and not isinstance(part, bool)
        path += f"[{part}]" if index else (f".{part}" if path else str(part))
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        if isinstance(node, dict) and "name" in node and index:
            path += f" ({node['name']})"
        elif isinstance(node, dict) and "id" in node and index:
            path += f" ({node['id']})"
    return path or "(top level)"


class _Loader(yaml.SafeLoader):
    """YAML's safe loader that notes each word it read as a boolean other than true/false (NO, off, yes...)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.booleans: list[tuple[int, str]] = []  # (line, word)

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        if node.value.lower() not in ("true", "false"):
            self.booleans.append((node.start_mark.line + 1, node.value))
        return super().construct_yaml_bool(node)


_Loader.add_constructor("tag:yaml.org,2002:bool", _Loader.construct_yaml_bool)


def _boolean_hint(booleans: list[str]) -> str:
    read = f"read {', '.join(booleans)} as booleans" if booleans else "reads an unquoted yes/no/on/off as a boolean"
    return f"  YAML {read}: quote a value meant as text, e.g. project: \"NO\""


def parse_org_config(data: Any, source: str = "<org config>", booleans: list[str] | None = None) -> OrgConfig:
    """Validate the parsed YAML. `booleans`: the words the YAML loader read as booleans, for the message."""
    if not isinstance(data, dict):
        raise OrgConfigError(f"{source}: the file must hold a mapping at the top level, got {type(data).__name__}")
    try:
        return OrgConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _describe(tuple(err["loc"]), data)
            bad = err.get("input")
            shown = repr(bad) if not isinstance(bad, dict | list) else type(bad).__name__
            if err["type"] == "value_error":
                lines.append(f"  {where}: {err['msg'].removeprefix('Value error, ')}")
            elif isinstance(bad, bool) and err["type"] == "string_type":
                lines.append(f"  {where}: got the boolean {str(bad).lower()}, not text")
            else:
                lines.append(f"  {where}: {err['msg']} (got {shown})")
        if any(line.endswith(", not text") for line in lines):
            lines.append(_boolean_hint(booleans or []))
        raise OrgConfigError(f"{source}: invalid org config\n" + "\n".join(lines)) from None


def load_org_config(path: str | Path) -> OrgConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrgConfigError(f"{path}: cannot read the org config ({exc.strerror})") from None
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise OrgConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return parse_org_config(data, str(path), [f"{word} (line {line})" for line, word in sorted(loader.booleans)])


# --- flat tables ---------------------------------------------------------------------------------


def org_config_rows(config: OrgConfig, pseudonymise) -> dict[str, list[dict[str, Any]]]:
    """The org config as flat tables (name -> rows). `pseudonymise` hashes member identities."""
    tables: dict[str, list[dict[str, Any]]] = {
        "value_streams": [v.model_dump(exclude={"steps"}) for v in config.value_streams],
        "value_stream_steps": [
            {"value_stream": v.name, "step_order": i, "status": status}
            for v in config.value_streams
            for i, status in enumerate(v.steps, start=1)
        ],
        "teams": [
            {k: v for k, v in t.model_dump().items() if k != "members"} | {"member_count": len(t.members)}
            for t in config.teams
        ],
        "team_members": [
            {"team": t.name, "member_id": pseudonymise(m.strip().lower() if "@" in m else m.strip())}
            for t in config.teams
            for m in t.members
        ],
        "jira_ownership_rules": [
            {"rule_order": i} | r.model_dump() for i, r in enumerate(config.ownership.jira, start=1)
        ],
        "git_ownership_rules": [
            {"rule_order": i} | r.model_dump() for i, r in enumerate(config.ownership.git, start=1)
        ],
        "status_mappings": [
            {"project": project, "status": status, "flow_state": state}
            for project, mapping in config.jira.status_mapping.items()
            for status, state in mapping.items()
        ],
        "flow_item_type_rules": [
            {"rule_kind": "issue_type", "match_value": k, "flow_item_type": v, "rule_order": 1}
            for k, v in config.jira.flow_item_types.by_issue_type.items()
        ]
        + [
            {"rule_kind": "label", "match_value": k, "flow_item_type": v, "rule_order": 0}
            for k, v in config.jira.flow_item_types.by_label.items()
        ]
        + [
            {
                "rule_kind": "default",
                "match_value": None,
                "flow_item_type": config.jira.flow_item_types.default,
                "rule_order": 2,
            }
        ],
        "issue_type_roles": [
            {"issue_type": name, "role": role}
            for role, names in (
                ("epic", config.jira.epic_issue_types),
                ("initiative", config.jira.initiative_issue_types),
                ("incident", config.jira.incident_issue_types),
            )
            for name in names
        ],
        "incident_labels": [{"label": label} for label in config.jira.incident_labels],
        "canceled_resolutions": [{"resolution": r} for r in config.jira.canceled_resolutions],
        "objectives": [
            {k: v for k, v in o.model_dump().items() if k != "key_results"} for o in config.okrs
        ],
        "key_results": [
            {"key_result_id": kr.id, "objective_id": o.id, "title": kr.title}
            for o in config.okrs
            for kr in o.key_results
        ],
        "survey_questions": [q.model_dump() for q in config.surveys.questions],
        "settings": [
            {"setting": "anonymity_threshold", "value": str(config.anonymity_threshold)},
            {"setting": "organisation", "value": config.organisation},
            {"setting": "dora_band_set", "value": config.dora.band_set},
            {"setting": "outcome_min_length", "value": str(config.outcomes.min_length)},
            {"setting": "closing_grace_days", "value": str(config.outcomes.closing_grace_days)},
        ],
        "outcome_placeholders": [{"placeholder": p.lower()} for p in config.outcomes.placeholders],
        "ai_assist_patterns": [{"kind": "label", "pattern": p} for p in config.ai_assist.labels]
        + [{"kind": "trailer", "pattern": p} for p in config.ai_assist.trailer_patterns],
        "dora_bands": DORA_BANDS[config.dora.band_set],
    }
    return tables


# DORA 2023 thresholds (see DOMAIN.md). Lower bound inclusive for "higher is better" metrics,
# upper bound exclusive (or inclusive for change fail rate) for "lower is better" metrics.
DORA_BANDS: dict[str, list[dict[str, Any]]] = {
    "2023": [
        {"metric": "deployment_days_per_week", "band": "elite", "band_rank": 1, "min_value": 5.0, "max_value": None},
        {"metric": "deployment_days_per_week", "band": "high", "band_rank": 2, "min_value": 1.0, "max_value": 5.0},
        # medium: at least monthly (12 deployment days a year)
        {"metric": "deployment_days_per_week", "band": "medium", "band_rank": 3, "min_value": 12 / 52,
         "max_value": 1.0},
        {"metric": "deployment_days_per_week", "band": "low", "band_rank": 4, "min_value": None, "max_value": 12 / 52},
        {"metric": "change_lead_time_hours", "band": "elite", "band_rank": 1, "min_value": None, "max_value": 24.0},
        {"metric": "change_lead_time_hours", "band": "high", "band_rank": 2, "min_value": 24.0, "max_value": 168.0},
        {"metric": "change_lead_time_hours", "band": "medium", "band_rank": 3, "min_value": 168.0, "max_value": 720.0},
        {"metric": "change_lead_time_hours", "band": "low", "band_rank": 4, "min_value": 720.0, "max_value": None},
        {"metric": "change_fail_rate_pct", "band": "elite", "band_rank": 1, "min_value": None, "max_value": 5.0},
        {"metric": "change_fail_rate_pct", "band": "high", "band_rank": 2, "min_value": 5.0, "max_value": 10.0},
        {"metric": "change_fail_rate_pct", "band": "medium", "band_rank": 3, "min_value": 10.0, "max_value": 15.0},
        {"metric": "change_fail_rate_pct", "band": "low", "band_rank": 4, "min_value": 15.0, "max_value": None},
        {"metric": "recovery_time_hours", "band": "elite", "band_rank": 1, "min_value": None, "max_value": 1.0},
        {"metric": "recovery_time_hours", "band": "high", "band_rank": 2, "min_value": 1.0, "max_value": 24.0},
        {"metric": "recovery_time_hours", "band": "medium", "band_rank": 3, "min_value": 24.0, "max_value": 168.0},
        {"metric": "recovery_time_hours", "band": "low", "band_rank": 4, "min_value": 168.0, "max_value": None},
    ],
    # DORA 2021 (State of DevOps 2021): elite deploys on demand (taken as >=5 deploy-days a week), high between
    # weekly and monthly, medium between monthly and every six months; lead time elite <1 hour, high <1 week,
    # medium <6 months; change fail rate elite 0-15 %, high, medium and low all 16-30 % (so high <=30 %, low above);
    # time to restore elite <1 hour, high <1 day, medium <1 week, low above.
    "2021": [
        {"metric": "deployment_days_per_week", "band": "elite", "band_rank": 1, "min_value": 5.0, "max_value": None},
        {"metric": "deployment_days_per_week", "band": "high", "band_rank": 2, "min_value": 12 / 52,
         "max_value": 5.0},
        {"metric": "deployment_days_per_week", "band": "medium", "band_rank": 3, "min_value": 2 / 52,
         "max_value": 12 / 52},
        {"metric": "deployment_days_per_week", "band": "low", "band_rank": 4, "min_value": None, "max_value": 2 / 52},
        {"metric": "change_lead_time_hours", "band": "elite", "band_rank": 1, "min_value": None, "max_value": 1.0},
        {"metric": "change_lead_time_hours", "band": "high", "band_rank": 2, "min_value": 1.0, "max_value": 168.0},
        {"metric": "change_lead_time_hours", "band": "medium", "band_rank": 3, "min_value": 168.0,
         "max_value": 4380.0},
        {"metric": "change_lead_time_hours", "band": "low", "band_rank": 4, "min_value": 4380.0, "max_value": None},
        {"metric": "change_fail_rate_pct", "band": "elite", "band_rank": 1, "min_value": None, "max_value": 15.0},
        {"metric": "change_fail_rate_pct", "band": "high", "band_rank": 2, "min_value": 15.0, "max_value": 30.0},
        {"metric": "change_fail_rate_pct", "band": "low", "band_rank": 4, "min_value": 30.0, "max_value": None},
        {"metric": "recovery_time_hours", "band": "elite", "band_rank": 1, "min_value": None, "max_value": 1.0},
        {"metric": "recovery_time_hours", "band": "high", "band_rank": 2, "min_value": 1.0, "max_value": 24.0},
        {"metric": "recovery_time_hours", "band": "medium", "band_rank": 3, "min_value": 24.0, "max_value": 168.0},
        {"metric": "recovery_time_hours", "band": "low", "band_rank": 4, "min_value": 168.0, "max_value": None},
    ],
}
