"""The sample organisation's cast: value streams, teams, people, repositories, time window and the
planted stories. Every generator (Jira, GitHub, surveys) draws from one `World`, so they agree.

Deterministic: the same seed, scale and anchor date give the same world.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

FIRST_NAMES = [
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret", "Ken", "Radia",
    "Linus", "Katherine", "Dennis", "Hedy", "Tim", "Sophie", "Guido", "Annie", "John", "Karen",
    "Niklaus", "Jean", "Bjarne", "Adele", "Leslie", "Lynn", "Ward", "Mary", "Rich", "Carol",
]
LAST_NAMES = [
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton", "Thompson",
    "Perlman", "Torvalds", "Johnson", "Ritchie", "Lamarr", "Berners-Lee", "Wilson", "Rossum", "Easley",
    "Backus", "Sparck", "Wirth", "Sammet", "Stroustrup", "Goldberg", "Lamport", "Conway", "Cunningham",
    "Keller", "Hickey", "Shaw",
]

# (value stream, owner, [(team, topology, jira project key, project name, repositories)])
TEMPLATE = [
    ("Payments", "VP Payments", [
        ("payments-core", "stream-aligned", "PAY", "Payments Core", ["payments-api", "ledger"]),
        ("checkout", "stream-aligned", "CHK", "Checkout", ["checkout-web"]),
        ("fraud-ml", "complicated-subsystem", "FRD", "Fraud Detection", ["fraud-scoring"]),
    ]),
    ("Growth", "VP Growth", [
        ("onboarding", "stream-aligned", "ONB", "Onboarding", ["signup-service"]),
        ("mobile", "stream-aligned", "MOB", "Mobile App", ["mobile-app"]),
    ]),
    ("Platform", "Head of Platform", [
        ("platform-infra", "platform", "INF", "Infrastructure", ["infra-live", "deploy-tools"]),
        ("developer-enablement", "enabling", "DEV", "Developer Enablement", ["golden-paths"]),
        ("data-platform", "platform", "DAT", "Data Platform", ["pipelines-core"]),
    ]),
]

# Planted stories (base team names; with --scale every copy of the team carries the story).
REVIEW_BOTTLENECK_TEAM = "checkout"  # long waits in "In Review"
FEATURE_FACTORY_STREAM = "Growth"  # epics mostly lack anticipated outcomes
AI_ADOPTION_TEAM = "mobile"  # adopts AI assistance half-way through the window
SENTIMENT_DROP_TEAM = "data-platform"  # survey sentiment drops in the later waves

GITHUB_ORG = "acme"
MONTHS = 24


@dataclass(frozen=True)
class Person:
    account_id: str  # Jira Cloud account id (hex)
    display_name: str
    email: str
    login: str  # GitHub login
    github_id: int
    team: str


@dataclass
class TeamSpec:
    name: str
    base_name: str  # the template team it copies (planted stories key on this)
    value_stream: str
    topology: str
    project_key: str
    project_name: str
    project_id: str
    repositories: list[str]  # "acme/<repo>"
    members: list[Person] = field(default_factory=list)
    monthly_cost: int = 0


@dataclass
class World:
    seed: int
    scale: float
    start: datetime  # first instant of the window (UTC)
    end: datetime  # generation anchor (UTC); nothing happens after it
    value_streams: list[tuple[str, str]]
    teams: list[TeamSpec]

    @property
    def people(self) -> list[Person]:
        return [p for t in self.teams for p in t.members]

    def rng(self, *parts: object) -> random.Random:
        """An independent, deterministic random stream for one purpose (e.g. rng('jira', team))."""
        key = "|".join(str(p) for p in (self.seed, *parts))
        return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))

    def team(self, name: str) -> TeamSpec:
        return next(t for t in self.teams if t.name == name)

    @property
    def midpoint(self) -> datetime:
        return self.start + (self.end - self.start) / 2


def build_world(seed: int = 42, scale: float = 1.0, anchor: date | None = None) -> World:
    """`scale` >= 1 multiplies the teams (copies suffixed -2, -3, ...); below 1 it only thins volume."""
    anchor = anchor or datetime.now(UTC).date()
    end = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
    start = end - timedelta(days=round(MONTHS * 30.44))
    copies = max(1, int(round(scale))) if scale >= 1 else 1
    rnd = random.Random(seed)
    teams: list[TeamSpec] = []
    streams: list[tuple[str, str]] = []
    project_seq = 10000
    github_seq = 1000
    for copy in range(1, copies + 1):
        suffix = "" if copy == 1 else f"-{copy}"
        key_suffix = "" if copy == 1 else str(copy)
        for stream, owner, team_specs in TEMPLATE:
            stream_name = stream + ("" if copy == 1 else f" {copy}")
            streams.append((stream_name, owner))
            for base, topology, key, pname, repos in team_specs:
                project_seq += 1
                spec = TeamSpec(
                    name=base + suffix,
                    base_name=base,
                    value_stream=stream_name,
                    topology=topology,
                    project_key=key + key_suffix,
                    project_name=pname + ("" if copy == 1 else f" {copy}"),
                    project_id=str(project_seq),
                    repositories=[f"{GITHUB_ORG}/{r}{suffix}" for r in repos],
                    monthly_cost=rnd.choice([60000, 75000, 90000, 110000]),
                )
                for _ in range(rnd.randint(6, 9)):
                    first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
                    github_seq += 1
                    account = hashlib.md5(f"{seed}-{github_seq}".encode()).hexdigest()[:24]
                    login = f"{first}{last}".lower().replace("-", "") + str(github_seq % 97)
                    spec.members.append(
                        Person(
                            account_id=f"5b10{account}",
                            display_name=f"{first} {last}",
                            email=f"{first}.{last}{github_seq % 97}@acme.example".lower(),
                            login=login,
                            github_id=github_seq,
                            team=spec.name,
                        )
                    )
                teams.append(spec)
    return World(seed=seed, scale=scale, start=start, end=end, value_streams=streams, teams=teams)
