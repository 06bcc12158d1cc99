"""GitHub part of the sample organisation, in GitHub REST JSON shape, streamed per repository:

    <folder>/<owner>/<repo>/pulls.jsonl          one pull request per line (list + single-PR fields), with
                                                 its `_reviews`, `_comments` and `_commits` embedded
    <folder>/<owner>/<repo>/deployments.jsonl    one deployment per line with its `_statuses` (oldest first)
    <folder>/<owner>/<repo>/workflow_runs.jsonl  GitHub Actions runs (only where a repo deploys that way)

`github_api` serves these files the way api.github.com does. Deterministic: one `world.rng("github",
repo)` stream per repository. Volume: 8-14 PRs per repository per month at scale 1, thinned
proportionally below scale 1 (and copied with the teams above it).

Planted stories: the REVIEW_BOTTLENECK_TEAM's PRs wait long for pickup and review; the AI_ADOPTION_TEAM
labels most PRs "ai-assisted" and adds a Copilot `Co-authored-by` trailer from `world.midpoint` on.
Production deployments sometimes fail (or fail after a success) and are followed by a rollback
deployment of the previous good SHA (task "deploy:rollback").
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.sample.world import AI_ADOPTION_TEAM, REVIEW_BOTTLENECK_TEAM, Person, TeamSpec, World

BOTS = {
    "dependabot[bot]": 49699333,
    "renovate[bot]": 29139614,
    "github-actions[bot]": 41898282,
}
COPILOT_TRAILER = "Co-authored-by: GitHub Copilot <copilot@github.com>"
DEPLOY_WORKFLOW = "Deploy production"
CI_WORKFLOW = "CI"
# repositories (base name) that deploy through GitHub Actions instead of the Deployments API
WORKFLOW_DEPLOY_REPOS = {"infra-live"}

VERBS = ["Add", "Fix", "Refactor", "Improve", "Remove", "Update", "Document", "Speed up", "Harden", "Simplify"]
THINGS = [
    "retry logic", "input validation", "pagination", "error messages", "caching layer", "feature flag",
    "metrics export", "config loading", "database index", "API client", "login flow", "test fixtures",
    "build script", "logging", "timeout handling", "rate limiter", "search endpoint", "migration",
]
LABELS = ["enhancement", "bug", "tech-debt", "documentation", "dependencies", "security"]
COMMENTS = ["Looks good to me.", "Could we add a test for this?", "Nit: naming.", "Done, thanks!", "Rebased."]


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha(rnd: random.Random) -> str:
    return f"{rnd.getrandbits(160):040x}"


def _user(person: Person) -> dict[str, Any]:
    return {"login": person.login, "id": person.github_id, "type": "User", "site_admin": False}


def _bot(login: str) -> dict[str, Any]:
    return {"login": login, "id": BOTS[login], "type": "Bot", "site_admin": False}


def _git_person(person: Person, when: datetime) -> dict[str, str]:
    return {"name": person.display_name, "email": person.email, "date": _iso(when)}


@dataclass
class _Ids:
    """Globally unique ids per kind: <kind base> + <repository index> * span + sequence."""

    repo_index: int
    reviews: int = 0
    comments: int = 0
    deployments: int = 0
    statuses: int = 0
    runs: int = 0

    def pr(self, number: int) -> int:
        return 1_000_000_000 + self.repo_index * 1_000_000 + number

    def next(self, kind: str, base: int) -> int:
        value = getattr(self, kind) + 1
        setattr(self, kind, value)
        return base + self.repo_index * 10_000_000 + value


def write(world: World, folder: str | Path) -> dict[str, int]:
    folder = Path(folder)
    counts = {
        "github_repositories": 0, "github_pull_requests": 0, "github_reviews": 0, "github_pr_comments": 0,
        "github_pr_commits": 0, "github_deployments": 0, "github_deployment_statuses": 0,
        "github_workflow_runs": 0,
    }
    index = 0
    for team in world.teams:
        for repo in team.repositories:
            index += 1
            repo_counts = _write_repository(world, team, repo, index, folder / repo)
            counts["github_repositories"] += 1
            for key, value in repo_counts.items():
                counts[key] += value
    return counts


def org_config_section(world: World, sample_dir: Path) -> dict[str, Any]:
    return {
        "github": {
            "repositories": [repo for team in world.teams for repo in team.repositories],
            "bot_names": ["dependabot[bot]", "renovate[bot]"],
            "production_environments": ["production"],
            "deployment_workflow_pattern": f"^{DEPLOY_WORKFLOW}$",
        }
    }


# --- one repository ------------------------------------------------------------------------------


def _write_repository(world: World, team: TeamSpec, repo: str, index: int, out: Path) -> dict[str, int]:
    rnd = world.rng("github", repo)
    ids = _Ids(index)
    out.mkdir(parents=True, exist_ok=True)
    per_month = rnd.uniform(8, 14) * min(1.0, world.scale)
    months = (world.end - world.start).days / 30.44
    total = max(3, round(per_month * months))
    span = (world.end - world.start).total_seconds() - 3600
    created = sorted(world.start + timedelta(seconds=rnd.uniform(0, span)) for _ in range(total))
    bottleneck = team.base_name == REVIEW_BOTTLENECK_TEAM
    ai_team = team.base_name == AI_ADOPTION_TEAM
    counts = {"github_pull_requests": 0, "github_reviews": 0, "github_pr_comments": 0, "github_pr_commits": 0}
    merged: list[tuple[datetime, str]] = []  # (merged_at, merge commit sha)
    with open(out / "pulls.jsonl", "w", encoding="utf-8") as fh:
        for number, opened in enumerate(created, start=1):
            pr = _pull_request(world, team, repo, number, opened, rnd, ids, bottleneck, ai_team)
            if pr["merged_at"]:
                merged.append((datetime.fromisoformat(pr["merged_at"]), pr["merge_commit_sha"]))
            counts["github_pull_requests"] += 1
            counts["github_reviews"] += len(pr["_reviews"])
            counts["github_pr_comments"] += len(pr["_comments"])
            counts["github_pr_commits"] += len(pr["_commits"])
            fh.write(json.dumps(pr, separators=(",", ":")) + "\n")
    merged.sort()
    repo_name = repo.split("/", 1)[1]
    base_repo = repo_name.rsplit("-", 1)[0] if repo_name.rsplit("-", 1)[-1].isdigit() else repo_name
    deployments, runs = [], []
    if base_repo in WORKFLOW_DEPLOY_REPOS:
        runs = _workflow_runs(world, team, repo, merged, rnd, ids)
    else:
        deployments = _deployments(world, team, repo, merged, rnd, ids)
    with open(out / "deployments.jsonl", "w", encoding="utf-8") as fh:
        for deployment in deployments:
            fh.write(json.dumps(deployment, separators=(",", ":")) + "\n")
    with open(out / "workflow_runs.jsonl", "w", encoding="utf-8") as fh:
        for run in runs:
            fh.write(json.dumps(run, separators=(",", ":")) + "\n")
    counts["github_deployments"] = len(deployments)
    counts["github_deployment_statuses"] = sum(len(d["_statuses"]) for d in deployments)
    counts["github_workflow_runs"] = len(runs)
    return counts


def _pull_request(
    world: World, team: TeamSpec, repo: str, number: int, opened: datetime, rnd: random.Random, ids: _Ids,
    bottleneck: bool, ai_team: bool,
) -> dict[str, Any]:
    members = team.members
    is_bot = rnd.random() < 0.04
    author_person = None if is_bot else rnd.choice(members)
    author = _bot(rnd.choice(["dependabot[bot]", "renovate[bot]"])) if is_bot else _user(author_person)
    others = [p for p in members if p is not author_person]
    ai = not is_bot and (
        rnd.random() < (0.8 if ai_team and opened >= world.midpoint else 0.03 if ai_team else 0.0)
    )
    title = (
        f"Bump {rnd.choice(['requests', 'lodash', 'pydantic', 'react', 'urllib3'])} to a newer version"
        if is_bot else f"{rnd.choice(VERBS)} {rnd.choice(THINGS)}"
    )
    labels = ["dependencies"] if is_bot else rnd.sample(LABELS[:4], k=rnd.choice([0, 1, 1, 2]))
    if ai:
        labels.append("ai-assisted")

    # commits: authored before the PR opens (coding time), a few pushed after the first review (rework)
    coding = timedelta(hours=rnd.expovariate(1 / 18) + 0.1)
    n_commits = 1 if is_bot else rnd.randint(1, 6)
    first_commit = opened - coding
    commit_times = sorted(first_commit + (opened - first_commit) * rnd.random() for _ in range(n_commits - 1))
    commit_times = [first_commit, *commit_times]

    # outcome
    pickup = timedelta(hours=rnd.expovariate(1 / (40 if bottleneck else 4)) + 0.05)
    review_span = timedelta(hours=rnd.expovariate(1 / (48 if bottleneck else 6)) + 0.1)
    roll = rnd.random()
    first_review_at = opened + pickup
    close_at = first_review_at + review_span
    if close_at > world.end - timedelta(minutes=5):
        outcome = "open"
    elif roll < 0.07:
        outcome = "closed"
    else:
        outcome = "merged"
    reviewed = is_bot or outcome != "merged" or rnd.random() < 0.9
    if outcome == "open" and first_review_at > world.end:
        reviewed = False

    events: list[datetime] = [opened]
    reviews: list[dict[str, Any]] = []
    commit_ids: list[str] = []
    rework_commits = 0
    if reviewed and others:
        t = first_review_at
        states = ["APPROVED"]
        if not is_bot and rnd.random() < 0.25:
            states = ["CHANGES_REQUESTED", "APPROVED"]
            rework_commits = rnd.randint(1, 2)
        elif not is_bot and rnd.random() < 0.3:
            states = ["COMMENTED", "APPROVED"]
        if outcome != "merged":
            states = states[:1] if states[0] != "APPROVED" else ["COMMENTED"]
        last_review = close_at if outcome != "open" else world.end - timedelta(minutes=1)
        for i, state in enumerate(states):
            if i > 0:
                t = t + (last_review - t) * rnd.uniform(0.3, 0.9)
            if t > world.end:
                break
            reviewer = rnd.choice(others)
            reviews.append({
                "id": ids.next("reviews", 2_000_000_000), "user": _user(reviewer), "state": state,
                "submitted_at": _iso(t), "commit_id": None, "author_association": "MEMBER",
            })
            events.append(t)
    for _ in range(rework_commits):
        if reviews:
            first = datetime.fromisoformat(reviews[0]["submitted_at"])
            end = datetime.fromisoformat(reviews[-1]["submitted_at"]) if len(reviews) > 1 else first
            commit_times.append(first + (end - first) * rnd.random() + timedelta(minutes=1))
    commits: list[dict[str, Any]] = []
    parent = _sha(rnd)
    for i, when in enumerate(commit_times):
        sha = _sha(rnd)
        commit_ids.append(sha)
        commits.append(_commit(sha, parent, when, author_person, author, others, rnd, ai, i))
        parent = sha
        events.append(when)
    for review in reviews:
        at = review["submitted_at"]
        before = [c for c, w in zip(commit_ids, commit_times, strict=True) if _iso(w) <= at]
        review["commit_id"] = before[-1] if before else commit_ids[0]

    comments = []
    comment_end = close_at if outcome != "open" else world.end - timedelta(minutes=1)
    for _ in range(0 if is_bot else rnd.choice([0, 0, 1, 1, 2, 3])):
        at = opened + (comment_end - opened) * rnd.random()
        user = _bot("github-actions[bot]") if rnd.random() < 0.1 else _user(rnd.choice(members))
        comments.append({
            "id": ids.next("comments", 3_000_000_000), "user": user, "created_at": _iso(at), "updated_at": _iso(at),
            "body": rnd.choice(COMMENTS), "author_association": "MEMBER",
        })
        events.append(at)
    comments.sort(key=lambda c: c["created_at"])

    merged_at = closed_at = None
    merge_sha = None
    merged_by = None
    state = "open"
    if outcome in ("merged", "closed"):
        closed_at = close_at
        events.append(close_at)
        state = "closed"
        if outcome == "merged":
            merged_at = close_at
            merge_sha = _sha(rnd)
            merged_by = _user(rnd.choice(others)) if others and rnd.random() < 0.6 else author
    updated = max(events) + timedelta(seconds=rnd.randint(1, 30))
    updated = min(updated, world.end)
    additions = max(1, int(rnd.lognormvariate(4.0, 1.2)))
    slug = title.lower().replace(" ", "-")[:30]
    return {
        "id": ids.pr(number),
        "number": number,
        "state": state,
        "title": title,
        "user": author,
        "created_at": _iso(opened),
        "updated_at": _iso(updated),
        "closed_at": _iso(closed_at) if closed_at else None,
        "merged_at": _iso(merged_at) if merged_at else None,
        "merge_commit_sha": merge_sha,
        "head": {"ref": f"{'dependabot' if is_bot else 'feature'}/{slug}-{number}", "sha": commit_ids[-1]},
        "base": {"ref": "main"},
        "labels": [{"name": name} for name in labels],
        "draft": outcome == "open" and rnd.random() < 0.2,
        "html_url": f"https://github.com/{repo}/pull/{number}",
        # single-PR extras (the list endpoint leaves them out)
        "additions": additions,
        "deletions": max(0, int(additions * rnd.uniform(0.05, 0.8))),
        "changed_files": max(1, int(additions / rnd.uniform(15, 60))),
        "commits": len(commits),
        "merged_by": merged_by,
        "_reviews": reviews,
        "_comments": comments,
        "_commits": commits,
    }


def _commit(
    sha: str, parent: str, when: datetime, person: Person | None, author: dict[str, Any], others: list[Person],
    rnd: random.Random, ai: bool, position: int,
) -> dict[str, Any]:
    subject = f"{rnd.choice(VERBS)} {rnd.choice(THINGS)}"
    trailers = []
    if ai and rnd.random() < 0.85:
        trailers.append(COPILOT_TRAILER)
    if person is not None and others and rnd.random() < 0.1:
        pair = rnd.choice(others)
        trailers.append(f"Co-authored-by: {pair.display_name} <{pair.email}>")
    if person is not None and rnd.random() < 0.2:
        trailers.append(f"Signed-off-by: {person.display_name} <{person.email}>")
    message = subject + ("\n\nSome context for the change.\n\n" + "\n".join(trailers) if trailers else "")
    if person is None:
        git_author = {"name": author["login"], "email": f"{author['id']}+{author['login']}@users.noreply.github.com",
                      "date": _iso(when)}
    else:
        git_author = _git_person(person, when)
    committer_when = when + timedelta(seconds=rnd.randint(0, 600))
    git_committer = (
        {"name": "GitHub", "email": "noreply@github.com", "date": _iso(committer_when)}
        if position == 0 and rnd.random() < 0.1 else {**git_author, "date": _iso(committer_when)}
    )
    return {
        "sha": sha,
        "commit": {"author": git_author, "committer": git_committer, "message": message},
        "author": author,
        "committer": author,
        "parents": [{"sha": parent}],
    }


# --- deployments ---------------------------------------------------------------------------------


def _deployments(
    world: World, team: TeamSpec, repo: str, merged: list[tuple[datetime, str]], rnd: random.Random, ids: _Ids
) -> list[dict[str, Any]]:
    """Staging: about one deployment in three merges (earlier staging deployments go `inactive`). Production: batches
    of merges a few hours later; ~6% fail (some after a first success) and get a rollback deployment."""
    people = team.members
    items: list[dict[str, Any]] = []

    def deployment(sha: str, environment: str, at: datetime, task: str = "deploy") -> dict[str, Any]:
        creator = _bot("github-actions[bot]") if rnd.random() < 0.5 else _user(rnd.choice(people))
        item = {
            "id": ids.next("deployments", 4_000_000_000), "sha": sha, "ref": "main", "task": task,
            "environment": environment, "original_environment": environment,
            "production_environment": environment == "production", "transient_environment": False,
            "description": "Rollback to the previous release" if task == "deploy:rollback" else None,
            "created_at": _iso(at), "updated_at": _iso(at), "creator": creator, "payload": {},
            "_statuses": [],
        }
        items.append(item)
        return item

    def status(item: dict[str, Any], state: str, at: datetime) -> None:
        item["_statuses"].append({
            "id": ids.next("statuses", 5_000_000_000), "state": state, "created_at": _iso(at),
            "updated_at": _iso(at), "environment": item["environment"], "creator": item["creator"],
        })
        item["updated_at"] = _iso(at)

    previous_staging = None
    for merged_at, sha in merged:
        at = merged_at + timedelta(minutes=rnd.uniform(5, 20))
        if at >= world.end or rnd.random() > 0.35:
            continue
        item = deployment(sha, "staging", at)
        status(item, "in_progress", at + timedelta(seconds=20))
        done = at + timedelta(minutes=rnd.uniform(2, 8))
        status(item, "success", done)
        if previous_staging is not None:
            status(previous_staging, "inactive", done)
        previous_staging = item

    good_sha = None
    i = 0
    while i < len(merged):
        at = merged[i][0] + timedelta(hours=rnd.expovariate(1 / 6) + 0.5)
        while i < len(merged) and merged[i][0] <= at:
            i += 1
        sha = merged[i - 1][1]
        if at + timedelta(hours=2) >= world.end:
            break
        item = deployment(sha, "production", at)
        status(item, "in_progress", at + timedelta(seconds=30))
        done = at + timedelta(minutes=rnd.uniform(5, 20))
        roll = rnd.random()
        if roll < 0.04 or (roll < 0.06 and good_sha is None):
            status(item, "failure", done)
        elif roll < 0.06:
            status(item, "success", done)
            done = done + timedelta(minutes=rnd.uniform(10, 45))
            status(item, "failure", done)
        elif roll < 0.07:
            status(item, "error", done)
            continue
        else:
            status(item, "success", done)
            good_sha = sha
            continue
        if good_sha is not None:
            back_at = done + timedelta(minutes=rnd.uniform(10, 40))
            rollback = deployment(good_sha, "production", back_at, task="deploy:rollback")
            status(rollback, "in_progress", back_at + timedelta(seconds=30))
            status(rollback, "success", back_at + timedelta(minutes=rnd.uniform(4, 12)))
    items.sort(key=lambda d: d["id"])
    return items


def _workflow_runs(
    world: World, team: TeamSpec, repo: str, merged: list[tuple[datetime, str]], rnd: random.Random, ids: _Ids
) -> list[dict[str, Any]]:
    """A CI run per merge and a "Deploy production" run per batch of merges (newest last)."""
    runs: list[dict[str, Any]] = []

    def run(name: str, sha: str, at: datetime, conclusion: str) -> None:
        actor = _user(rnd.choice(team.members))
        finished = at + timedelta(minutes=rnd.uniform(3, 15))
        run_id = ids.next("runs", 6_000_000_000)
        runs.append({
            "id": run_id, "name": name, "display_title": name, "head_branch": "main", "head_sha": sha,
            "path": ".github/workflows/" + ("deploy.yml" if name == DEPLOY_WORKFLOW else "ci.yml"),
            "run_number": len(runs) + 1, "run_attempt": 1, "event": "push", "status": "completed",
            "conclusion": conclusion, "workflow_id": 7001 if name == DEPLOY_WORKFLOW else 7000,
            "created_at": _iso(at), "updated_at": _iso(finished), "run_started_at": _iso(at),
            "actor": actor, "triggering_actor": actor,
            "html_url": f"https://github.com/{repo}/actions/runs/{run_id}",
        })

    i = 0
    while i < len(merged):
        at = merged[i][0] + timedelta(hours=rnd.expovariate(1 / 8) + 0.5)
        while i < len(merged) and merged[i][0] <= at:
            run(CI_WORKFLOW, merged[i][1], merged[i][0] + timedelta(minutes=1), "success")
            i += 1
        if at + timedelta(hours=1) >= world.end:
            break
        run(DEPLOY_WORKFLOW, merged[i - 1][1], at, "failure" if rnd.random() < 0.06 else "success")
    runs.sort(key=lambda r: r["created_at"])
    return runs
