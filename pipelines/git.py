"""Local Git repositories: commits, files changed, trailers, branch membership, tags and deploy tags.

One `git log` process per branch streams every commit with a machine-readable `--format` and
`--numstat -z` (no process per commit), parsed in one pass into columns that become Arrow tables (no
dict per row: dlt skips its row-by-row normalisation), so a 100k-commit history loads in seconds.

Tables (dataset `raw_git`), all `merge`:
- `commits` (repository, sha): parents, pseudonymised author/committer, author and committer time as
  UTC instants plus the original UTC offset in minutes, files changed, lines added/deleted (merge
  commits carry no diff: 0), trailer counts and whether a trailer marks AI assistance.
- `commit_files` (repository, sha, path): lines added/deleted per file (NULL for binary files).
- `commit_trailers` (repository, sha, trailer_index): key and value; person trailers (Co-authored-by,
  Signed-off-by, ... or any value holding an e-mail) keep only the pseudonym; `is_ai_assist` is
  computed from `org.ai_assist.trailer_patterns` on the clear text BEFORE hashing.
- `branch_commits` (repository, branch, sha): which commits are on which configured branch.
- `tags` (repository, tag_name) and `deployments` (repository, tag_name): tags matching
  `git.deploy_tag_pattern` become successful production deployments at the tag's creation time.

The commit message, author names and e-mails never land. The repository name is the folder name.

Incremental: the resource state keeps the last loaded head per repository and branch; a run reads
`git log <last>..<head>` (and skips commits already reachable from another loaded head). When the
last head is no longer an ancestor (force-push), the branch is reloaded and memberships of commits
that left the branch are deleted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.schema.utils import has_table_seen_data

from pipelines.arrow import arrow_schema, to_arrow
from pipelines.orgconfig import AiAssist, GitSettings, OrgConfig, load_org_config
from pipelines.privacy import Pseudonymiser
from pipelines.settings import file_format, make_pipeline, row_counts

log = logging.getLogger("flowmart.git")

SOURCE_NAME = "git"
BATCH_COMMITS = 20_000
PRODUCTION = "production"

# Trailers whose value names a person ("Name <e-mail>"): only the pseudonym lands.
PERSON_TRAILERS = frozenset(
    {
        "co-authored-by",
        "signed-off-by",
        "reviewed-by",
        "acked-by",
        "tested-by",
        "reported-by",
        "suggested-by",
        "helped-by",
        "mentored-by",
        "requested-by",
        "approved-by",
        "cc",
        "author",
        "committer",
    }
)
_EMAIL_IN_VALUE = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>|([^\s<>@,;]+@[^\s<>@,;]+\.[^\s<>@,;]+)")
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")

# Field order of one commit record in the `git log --format` output (see `_LOG_FORMAT`).
_LOG_FORMAT = (
    "%x1e%H%x1f%P%x1f%aE%x1f%at%x1f%ad%x1f%cE%x1f%ct%x1f%cd%x1f"
    "%(trailers:only=true,unfold=true,separator=%x1d)%x1f"
)
_TAG_FORMAT = (
    "%(refname)%1f%(objecttype)%1f%(objectname)%1f%(*objecttype)%1f%(*objectname)%1f"
    "%(creatordate:unix)%1f%(creatordate:format:%z)%1f%(taggeremail)"
)

COMMIT_COLUMNS: dict[str, dict[str, Any]] = {
    "repository": {"data_type": "text", "nullable": False},
    "sha": {"data_type": "text", "nullable": False},
    "parent_shas": {"data_type": "text"},
    "first_parent_sha": {"data_type": "text"},
    "parent_count": {"data_type": "bigint"},
    "is_merge": {"data_type": "bool"},
    "author_id": {"data_type": "text"},
    "committer_id": {"data_type": "text"},
    "authored_at": {"data_type": "timestamp"},
    "author_tz_offset_minutes": {"data_type": "bigint"},
    "committed_at": {"data_type": "timestamp"},
    "committer_tz_offset_minutes": {"data_type": "bigint"},
    "files_changed": {"data_type": "bigint"},
    "lines_added": {"data_type": "bigint"},
    "lines_deleted": {"data_type": "bigint"},
    "trailer_count": {"data_type": "bigint"},
    "co_author_count": {"data_type": "bigint"},
    "is_ai_assisted": {"data_type": "bool"},
}
FILE_COLUMNS: dict[str, dict[str, Any]] = {
    "repository": {"data_type": "text", "nullable": False},
    "sha": {"data_type": "text", "nullable": False},
    "path": {"data_type": "text", "nullable": False},
    "previous_path": {"data_type": "text"},
    "lines_added": {"data_type": "bigint"},
    "lines_deleted": {"data_type": "bigint"},
    "is_binary": {"data_type": "bool"},
}
TRAILER_COLUMNS: dict[str, dict[str, Any]] = {
    "repository": {"data_type": "text", "nullable": False},
    "sha": {"data_type": "text", "nullable": False},
    "trailer_index": {"data_type": "bigint", "nullable": False},
    "trailer_key": {"data_type": "text"},
    "trailer_value": {"data_type": "text"},
    "is_person": {"data_type": "bool"},
    "is_ai_assist": {"data_type": "bool"},
}
BRANCH_COLUMNS: dict[str, dict[str, Any]] = {
    "repository": {"data_type": "text", "nullable": False},
    "branch": {"data_type": "text", "nullable": False},
    "sha": {"data_type": "text", "nullable": False},
    "is_deleted": {"data_type": "bool", "hard_delete": True},
}
TAG_COLUMNS: dict[str, dict[str, Any]] = {
    "repository": {"data_type": "text", "nullable": False},
    "tag_name": {"data_type": "text", "nullable": False},
    "sha": {"data_type": "text"},
    "tag_object_sha": {"data_type": "text"},
    "is_annotated": {"data_type": "bool"},
    "tagged_at": {"data_type": "timestamp"},
    "tagged_tz_offset_minutes": {"data_type": "bigint"},
    "tagger_id": {"data_type": "text"},
}
DEPLOYMENT_COLUMNS: dict[str, dict[str, Any]] = {
    "deployment_id": {"data_type": "text", "nullable": False},
    "repository": {"data_type": "text", "nullable": False},
    "tag_name": {"data_type": "text", "nullable": False},
    "sha": {"data_type": "text"},
    "environment": {"data_type": "text"},
    "status": {"data_type": "text"},
    "deployed_at": {"data_type": "timestamp"},
    "deployed_tz_offset_minutes": {"data_type": "bigint"},
}
# Every table of the `commits` resource is declared here (one git log stream feeds all four).
_COMMIT_TABLES = {
    "commits": (COMMIT_COLUMNS, ("repository", "sha")),
    "commit_files": (FILE_COLUMNS, ("repository", "sha", "path")),
    "commit_trailers": (TRAILER_COLUMNS, ("repository", "sha", "trailer_index")),
    "branch_commits": (BRANCH_COLUMNS, ("repository", "branch", "sha")),
}


_ARROW = {name: arrow_schema(columns) for name, (columns, _) in _COMMIT_TABLES.items()}


class GitError(RuntimeError):
    """A repository is missing or a git command failed; the message names the repository and command."""


@dataclass(frozen=True)
class Repository:
    name: str
    path: Path


# --- configuration ---------------------------------------------------------------------------------


def _as_list(value: Any) -> list[str] | None:
    """A dlt config value as a list: a list, a JSON list string, or a comma-separated string."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise GitError(f"not a valid JSON list: {text!r} ({exc})") from None
        else:
            return [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise GitError(f"expected a list of paths, got {type(value).__name__}: {value!r}")
    return [str(v).strip() for v in value if str(v).strip()]


def configured_repository_paths(settings: GitSettings, org_dir: Path | None) -> list[Path]:
    """`sources.git.repositories` (env SOURCES__GIT__REPOSITORIES) when set, else `git.repositories`
    of the org config (relative paths are relative to the org config's folder)."""
    override = _as_list(dlt.config.get("sources.git.repositories"))
    if override is not None:
        return [Path(p).expanduser().resolve() for p in override]
    base = org_dir or Path.cwd()
    return [(base / Path(p).expanduser()).resolve() for p in settings.repositories]


def configured_branches(settings: GitSettings) -> list[str]:
    override = _as_list(dlt.config.get("sources.git.branches"))
    return override if override else list(settings.branches)


def resolve_repositories(paths: Iterable[Path]) -> list[Repository]:
    """Check every path is a Git repository and name it after its folder (names must be unique)."""
    repos: list[Repository] = []
    seen: dict[str, Path] = {}
    for path in paths:
        if not path.is_dir():
            raise GitError(f"{path}: repository folder does not exist")
        proc = _run(path, ["rev-parse", "--git-dir"], check=False)
        if proc.returncode != 0:
            raise GitError(f"{path}: not a Git repository ({proc.stderr.strip()})")
        name = path.name.removesuffix(".git") or path.name
        if name in seen and seen[name] != path:
            raise GitError(f"two repositories are both named {name!r} (folder name): {seen[name]} and {path}")
        seen[name] = path
        if path not in [r.path for r in repos]:
            repos.append(Repository(name=name, path=path))
    return repos


# --- git processes ---------------------------------------------------------------------------------


_GIT_ENV = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"}
_GIT_CONFIG = ["-c", "log.showSignature=false", "-c", "core.quotePath=false", "-c", "log.mailmap=true"]


def _run(repo: Path, args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", "-C", str(repo), *_GIT_CONFIG, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=os.environ | _GIT_ENV,
    )
    if check and proc.returncode != 0:
        raise GitError(f"{repo}: `git {' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def _stream(repo: Path, args: Sequence[str], separator: bytes) -> Iterator[bytes]:
    """Records of a git command's output, split on `separator`, read as the process writes them."""
    proc = subprocess.Popen(
        ["git", "-C", str(repo), *_GIT_CONFIG, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ | _GIT_ENV,
    )
    assert proc.stdout is not None and proc.stderr is not None
    finished = False
    try:
        buffer = b""
        while chunk := proc.stdout.read(1 << 20):
            buffer += chunk
            *records, buffer = buffer.split(separator)
            yield from (r for r in records if r)
        if buffer:
            yield buffer
        finished = True
    finally:
        if not finished:
            proc.kill()
        proc.stdout.close()
        stderr = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
        code = proc.wait()
    if code != 0:
        raise GitError(f"{repo}: `git {' '.join(args[:6])} ...` failed ({code}): {stderr.strip()}")


def resolve_branch(repo: Path, branch: str) -> str | None:
    """The commit sha of a configured branch: the local branch, else origin's remote-tracking branch,
    else the name as any revision (e.g. HEAD)."""
    if not branch or branch.startswith("-"):
        raise GitError(f"{repo}: not a branch name: {branch!r}")
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}", branch):
        proc = _run(repo, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    return None


def _has_commit(repo: Path, sha: str) -> bool:
    return _run(repo, ["cat-file", "-e", f"{sha}^{{commit}}"], check=False).returncode == 0


def _is_ancestor(repo: Path, ancestor: str, head: str) -> bool:
    return _run(repo, ["merge-base", "--is-ancestor", ancestor, head], check=False).returncode == 0


def rev_list(repo: Path, revisions: Sequence[str]) -> Iterator[str]:
    for line in _stream(repo, ["rev-list", "--ignore-missing", *revisions], b"\n"):
        yield line.decode("ascii").strip()


# --- parsing -------------------------------------------------------------------------------------


def _offset_minutes(offset: str) -> int:
    """'+0530' -> 330, '-0800' -> -480."""
    sign = -1 if offset.startswith("-") else 1
    digits = offset.lstrip("+-")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4]))


def _instant(unix: str) -> datetime:
    return datetime.fromtimestamp(int(unix), tz=UTC)


def person_identity(value: str) -> str:
    """The identity to hash for a person trailer value: its e-mail if it has one, else the text."""
    match = _EMAIL_IN_VALUE.search(value)
    if match:
        return (match.group(1) or match.group(2)).lower()
    return value.strip()


class CommitColumns:
    """The commits, files and trailers of a batch of commits, column by column (Arrow tables without a
    dict per row: dlt then skips its row-by-row normalisation)."""

    def __init__(self, repository: str) -> None:
        self.repository = repository
        self.commits: dict[str, list[Any]] = {name: [] for name in COMMIT_COLUMNS if name != "repository"}
        self.files: dict[str, list[Any]] = {name: [] for name in FILE_COLUMNS if name != "repository"}
        self.trailers: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.commits["sha"])

    def tables(self, load_files: bool = True) -> Iterator[tuple[str, Any]]:
        """(table name, Arrow table) of the batch, the empty ones left out."""
        if len(self):
            yield "commits", _arrow_columns(self.repository, self.commits, "commits")
        if load_files and self.files["sha"]:
            yield "commit_files", _arrow_columns(self.repository, self.files, "commit_files")
        if self.trailers:
            yield "commit_trailers", pa.Table.from_pylist(self.trailers, schema=_ARROW["commit_trailers"])


def _arrow_columns(repository: str, columns: dict[str, list[Any]], table: str) -> Any:
    schema = _ARROW[table]
    n = len(next(iter(columns.values())))
    arrays = []
    for field in schema:
        if field.name == "repository":
            arrays.append(pa.array([repository] * n, pa.string()))
        elif pa.types.is_timestamp(field.type):  # unix seconds -> UTC instants
            arrays.append(pa.array(columns[field.name], pa.int64()).cast(pa.timestamp("s", tz="UTC"))
                          .cast(field.type))
        else:
            arrays.append(pa.array(columns[field.name], field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class CommitParser:
    """Turns `git log` records into columns; every person identity is hashed here."""

    def __init__(self, repository: str, pseudonymise: Callable[[str | None], str | None],
                 ai_patterns: Sequence[str]) -> None:
        self.repository = repository
        self.pseudonymise = pseudonymise
        self.ai_patterns = [re.compile(p) for p in ai_patterns]
        self._offsets: dict[str, int] = {}
        self._people: dict[str, str | None] = {}

    def _offset(self, offset: str) -> int:
        minutes = self._offsets.get(offset)
        if minutes is None:
            minutes = self._offsets[offset] = _offset_minutes(offset)
        return minutes

    def _person(self, email: str) -> str | None:
        pseudonym = self._people.get(email, _MISSING)
        if pseudonym is _MISSING:
            pseudonym = self._people[email] = self.pseudonymise(email.lower())
        return pseudonym  # type: ignore[return-value]

    def trailer_rows(self, sha: str, text: str) -> list[dict[str, Any]]:
        rows = []
        for index, line in enumerate((t for t in text.split("\x1d") if t.strip()), start=1):
            key, sep, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if not sep:
                key, value = line.strip(), ""
            clear = f"{key}: {value}"
            is_ai = any(p.search(clear) for p in self.ai_patterns)
            is_person = key.lower() in PERSON_TRAILERS or bool(_EMAIL_IN_VALUE.search(value))
            rows.append(
                {
                    "repository": self.repository,
                    "sha": sha,
                    "trailer_index": index,
                    "trailer_key": key,
                    "trailer_value": self.pseudonymise(person_identity(value)) if is_person else value,
                    "is_person": is_person,
                    "is_ai_assist": is_ai,
                }
            )
        return rows

    def parse_into(self, record: bytes, out: CommitColumns) -> None:
        """One `git log` record (format fields, then its `--numstat -z` lines) appended to `out`."""
        text = record.decode("utf-8", "replace")
        fields = text.split("\x1f", 9)
        if len(fields) < 10 or not _SHA.fullmatch(fields[0]):
            raise GitError(f"{self.repository}: unexpected git log record: {text[:200]!r}")
        sha, parents, a_email, a_unix, a_offset, c_email, c_unix, c_offset, trailers, numstat = fields
        # files: "<added>\t<deleted>\t<path>\0", a rename or copy "<added>\t<deleted>\t\0<old>\0<new>\0"
        files = out.files
        n_files = added_sum = deleted_sum = 0
        tokens = numstat.split("\0")
        i, n = 0, len(tokens)
        while i < n:
            token = tokens[i]
            i += 1
            if token[:1] == "\n":
                token = token.lstrip("\n")
            if not token:
                continue
            added, deleted, path = token.split("\t", 2)
            previous = None
            if path == "":
                previous, path = tokens[i], tokens[i + 1]
                i += 2
            n_files += 1
            files["sha"].append(sha)
            files["path"].append(path)
            files["previous_path"].append(previous)
            if added == "-":
                files["lines_added"].append(None)
                files["lines_deleted"].append(None)
                files["is_binary"].append(True)
            else:
                a, d = int(added), int(deleted)
                added_sum += a
                deleted_sum += d
                files["lines_added"].append(a)
                files["lines_deleted"].append(d)
                files["is_binary"].append(False)
        trailer_rows = self.trailer_rows(sha, trailers) if trailers.strip("\x1d \n") else []
        out.trailers.extend(trailer_rows)
        parent_list = parents.split()
        c = out.commits
        c["sha"].append(sha)
        c["parent_shas"].append(parents or None)
        c["first_parent_sha"].append(parent_list[0] if parent_list else None)
        c["parent_count"].append(len(parent_list))
        c["is_merge"].append(len(parent_list) > 1)
        c["author_id"].append(self._person(a_email))
        c["committer_id"].append(self._person(c_email))
        c["authored_at"].append(int(a_unix))
        c["author_tz_offset_minutes"].append(self._offset(a_offset))
        c["committed_at"].append(int(c_unix))
        c["committer_tz_offset_minutes"].append(self._offset(c_offset))
        c["files_changed"].append(n_files)
        c["lines_added"].append(added_sum)
        c["lines_deleted"].append(deleted_sum)
        c["trailer_count"].append(len(trailer_rows))
        c["co_author_count"].append(sum(1 for t in trailer_rows if t["trailer_key"].lower() == "co-authored-by"))
        c["is_ai_assisted"].append(any(t["is_ai_assist"] for t in trailer_rows))


_MISSING = object()


def log_records(repo: Repository, revisions: Sequence[str]) -> Iterator[bytes]:
    """The records of `git log <revisions>`: one streamed process, newest first."""
    args = [
        "log",
        "--ignore-missing",
        "--no-color",
        "--no-textconv",
        "--no-ext-diff",
        "--diff-merges=off",
        "-M",
        "--numstat",
        "-z",
        "--date=format:%z",
        f"--format={_LOG_FORMAT}",
        *revisions,
        "--",
    ]
    yield from _stream(repo.path, args, b"\x1e")


# --- dlt source ----------------------------------------------------------------------------------


def _unseen(table: str) -> bool:
    """Whether the running source's table has never received data (it does not exist yet)."""
    tables = dlt.current.source_schema().tables
    return table not in tables or not has_table_seen_data(tables[table])


def _branch_table(repository: str, branch: str, shas: list[str], deleted: bool) -> Any:
    n = len(shas)
    return _to_table(pa.Table.from_arrays(
        [pa.array([repository] * n, pa.string()), pa.array([branch] * n, pa.string()), pa.array(shas, pa.string()),
         pa.array([deleted] * n, pa.bool_())], schema=_ARROW["branch_commits"]), "branch_commits")


def _to_table(rows: Any, table: str) -> Any:
    """Rows (an Arrow table) with the hints of their table of the `commits` resource."""
    columns, key = _COMMIT_TABLES[table]
    hints = dlt.mark.make_hints(table_name=table, columns=columns, primary_key=key, write_disposition="merge")
    return dlt.mark.with_hints(rows, hints, create_table_variant=True)


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def git_source(
    repositories: Sequence[Repository | Path | str],
    branches: Sequence[str] = ("main",),
    deploy_tag_pattern: str | None = None,
    ai_trailer_patterns: Sequence[str] = (),
    load_files: bool = True,
    pseudonymiser: Pseudonymiser | None = None,
) -> Any:
    """Commits (with files, trailers, branch membership), tags and deployments from deploy tags.

    Paths are checked when the resources run (not when the source is built, e.g. by Dagster)."""
    deploy_re = re.compile(deploy_tag_pattern) if deploy_tag_pattern else None
    resolved: list[Repository] = []
    hasher: list[Pseudonymiser] = [pseudonymiser] if pseudonymiser else []

    def repos() -> list[Repository]:
        if not resolved:
            resolved.extend(r for r in repositories if isinstance(r, Repository))
            resolved.extend(resolve_repositories(Path(r) for r in repositories if not isinstance(r, Repository)))
        return resolved

    def pseudonymise(identity: str | None) -> str | None:
        if not hasher:
            hasher.append(Pseudonymiser())
        return hasher[0](identity)

    # hints live on the table variants (see `_to_table`): resource-level columns would leak into them
    @dlt.resource(name="commits", write_disposition="merge")
    def commits() -> Iterator[Any]:
        state = dlt.current.resource_state()
        heads: dict[str, dict[str, str]] = state.setdefault("heads", {})
        for repo in repos():
            yield from _repository_commits(repo, heads.setdefault(repo.name, {}))
        for table in _COMMIT_TABLES:  # tables without a row yet (no trailers...) exist all the same
            if table not in written and _unseen(table):
                yield _to_table(_ARROW[table].empty_table(), table)

    def _repository_commits(repo: Repository, known: dict[str, str]) -> Iterator[Any]:
        parser = CommitParser(repo.name, pseudonymise, ai_trailer_patterns)
        for branch in branches:
            head = resolve_branch(repo.path, branch)
            if head is None:
                log.warning("%s: branch %r not found (local or origin/); skipped", repo.name, branch)
                continue
            last = known.get(branch)
            if last == head:
                log.info("%s/%s: up to date at %s", repo.name, branch, head[:12])
                continue
            started = time.perf_counter()
            if last and _is_ancestor(repo.path, last, head):
                membership = [head, "--not", last]
            else:
                if last:
                    log.warning("%s/%s: %s is no longer an ancestor of %s (force-push): reloading the branch",
                                repo.name, branch, last[:12], head[:12])
                    if _has_commit(repo.path, last):
                        gone = list(rev_list(repo.path, [last, "--not", head]))
                        if gone:
                            log.info("%s/%s: %d commits left the branch", repo.name, branch, len(gone))
                            yield _branch_table(repo.name, branch, gone, deleted=True)
                    else:
                        log.warning("%s/%s: old head %s is gone; stale branch memberships may remain",
                                    repo.name, branch, last[:12])
                membership = [head]
            # commits already reachable from any loaded head need no second read
            loaded_heads = sorted({sha for sha in known.values() if sha != head})
            detail_revs = [head, "--not", *loaded_heads] if loaded_heads else [head]
            members = list(rev_list(repo.path, membership))
            n_commits = 0
            batch = CommitColumns(repo.name)
            for record in log_records(repo, detail_revs):
                parser.parse_into(record, batch)
                if len(batch) >= BATCH_COMMITS:
                    n_commits += len(batch)
                    yield from _flush(batch)
                    batch = CommitColumns(repo.name)
                    log.info("%s/%s: %d commits read", repo.name, branch, n_commits)
            n_commits += len(batch)
            yield from _flush(batch)
            for start in range(0, len(members), 100_000):
                written.add("branch_commits")
                yield _branch_table(repo.name, branch, members[start : start + 100_000], deleted=False)
            known[branch] = head
            elapsed = time.perf_counter() - started
            log.info(
                "%s/%s: %d new commits, %d on the branch since last load (%s, %.1fs)",
                repo.name, branch, n_commits, len(members), "incremental" if last else "full", elapsed,
            )

    written: set[str] = set()

    def _flush(batch: CommitColumns) -> Iterator[Any]:
        for table, arrow in batch.tables(load_files):
            written.add(table)
            yield _to_table(arrow, table)

    @dlt.resource(name="tags", primary_key=("repository", "tag_name"), write_disposition="merge",
                  columns=TAG_COLUMNS)
    def tags() -> Iterator[Any]:
        rows = []
        for repo in repos():
            found = list(read_tags(repo, pseudonymise))
            log.info("%s: %d tags", repo.name, len(found))
            rows += found
        if rows or _unseen("tags") or _unseen("deployments"):  # an empty Arrow table still creates its table
            yield to_arrow(rows, TAG_COLUMNS)

    @dlt.transformer(
        name="deployments",
        data_from=tags,
        primary_key="deployment_id",
        write_disposition="merge",
        columns=DEPLOYMENT_COLUMNS,
    )
    def deployments(tag_rows: Any) -> Iterator[Any]:
        rows = [deployment_from_tag(t) for t in tag_rows.to_pylist()
                if deploy_re is not None and deploy_re.search(t["tag_name"])]
        if rows or _unseen("deployments"):
            yield to_arrow(rows, DEPLOYMENT_COLUMNS)

    return commits, tags, deployments


def read_tags(repo: Repository, pseudonymise: Callable[[str | None], str | None]) -> Iterator[dict[str, Any]]:
    for record in _stream(repo.path, ["for-each-ref", f"--format={_TAG_FORMAT}", "refs/tags"], b"\n"):
        ref, otype, oid, peeled_type, peeled, unix, offset, tagger = record.decode("utf-8", "replace").split(
            "\x1f"
        )
        name = ref.removeprefix("refs/tags/")
        sha = oid if otype == "commit" else peeled if peeled_type == "commit" else None
        if sha is None and otype == "tag":  # a tag of a tag: peel all the way
            proc = _run(repo.path, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False)
            sha = proc.stdout.strip() or None
        if sha is None:
            log.info("%s: tag %s does not point at a commit; skipped", repo.name, name)
            continue
        email = tagger.strip().strip("<>").strip()
        yield {
            "repository": repo.name,
            "tag_name": name,
            "sha": sha,
            "tag_object_sha": oid if otype == "tag" else None,
            "is_annotated": otype == "tag",
            "tagged_at": _instant(unix) if unix else None,
            "tagged_tz_offset_minutes": _offset_minutes(offset) if offset else None,
            "tagger_id": pseudonymise(email.lower()) if email else None,
        }


def deployment_from_tag(tag: dict[str, Any]) -> dict[str, Any]:
    """A deploy tag is a successful production deployment of its commit at the tag's creation time."""
    return {
        "deployment_id": f"{tag['repository']}@{tag['tag_name']}",
        "repository": tag["repository"],
        "tag_name": tag["tag_name"],
        "sha": tag["sha"],
        "environment": PRODUCTION,
        "status": "success",
        "deployed_at": tag["tagged_at"],
        "deployed_tz_offset_minutes": tag["tagged_tz_offset_minutes"],
    }


# Tables the staging models read, with their owning resource, so each exists even before it has rows.
_ALL_TABLES = {
    **{name: ("commits", columns, key) for name, (columns, key) in _COMMIT_TABLES.items()},
    "tags": ("tags", TAG_COLUMNS, ("repository", "tag_name")),
    "deployments": ("deployments", DEPLOYMENT_COLUMNS, ("deployment_id",)),
}


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def _empty_tables(tables: Sequence[str]) -> Any:
    """Create tables that have never had a row (no trailers, no deploy tags yet...), with their columns."""

    def markers(mine: tuple[str, ...]) -> Iterator[Any]:
        for table in mine:
            _, columns, key = _ALL_TABLES[table]
            hints = dlt.mark.make_hints(table_name=table, columns=columns, primary_key=key, write_disposition="merge")
            yield dlt.mark.with_hints(dlt.mark.materialize_table_schema(), hints, create_table_variant=True)

    owners = sorted({_ALL_TABLES[t][0] for t in tables})
    return [
        dlt.resource(markers(tuple(t for t in tables if _ALL_TABLES[t][0] == owner)), name=owner,
                     write_disposition="merge")
        for owner in owners
    ]


def materialize_missing_tables(pipeline: dlt.Pipeline) -> None:
    """Run after a load of `git_source` (also from Dagster): create the tables that have no row yet."""
    tables = pipeline.default_schema.tables
    missing = [t for t in _ALL_TABLES if t not in tables or not has_table_seen_data(tables[t])]
    if missing:
        log.info("git: creating tables without rows yet: %s", ", ".join(missing))
        pipeline.run(_empty_tables(missing))  # default file format: JSON lines cannot carry an empty table


# --- entry points --------------------------------------------------------------------------------


def source_from_org(org: OrgConfig, org_dir: Path) -> Any:
    """The `git` dlt source of an org config (for Dagster: call `keep_dlt_columns(pipeline.pipeline_name)`, run
    it with loader_file_format=settings.file_format(target), then `materialize_missing_tables(pipeline)`)."""
    settings = getattr(org, "git", None) or GitSettings()
    ai_assist = getattr(org, "ai_assist", None) or AiAssist()
    return git_source(
        configured_repository_paths(settings, Path(org_dir)),
        branches=configured_branches(settings),
        deploy_tag_pattern=settings.deploy_tag_pattern,
        ai_trailer_patterns=ai_assist.trailer_patterns,
        load_files=settings.load_files and _load_files(),
    )


def _load_files() -> bool:
    return str(dlt.config.get("sources.git.load_files") or "true").lower() not in ("false", "0")


def keep_dlt_columns(pipeline_name: str) -> None:
    """The tables keep dlt's `_dlt_load_id` and `_dlt_id` columns, which dlt adds to rows but not to Arrow
    tables unless told: for this pipeline only (its config section), so the other loaders stay as they are."""
    for setting in ("ADD_DLT_LOAD_ID", "ADD_DLT_ID"):
        os.environ.setdefault(f"{pipeline_name.upper()}__NORMALIZE__PARQUET_NORMALIZER__{setting}", "true")


def run_load(
    repository_paths: Sequence[Path],
    settings: GitSettings,
    ai_assist: AiAssist,
    target: str | None = None,
    pipeline: dlt.Pipeline | None = None,
) -> dict[str, int]:
    repos = resolve_repositories(repository_paths)
    if not repos:
        log.warning("no Git repositories configured (git.repositories or SOURCES__GIT__REPOSITORIES)")
        return {}
    pipeline = pipeline or make_pipeline(SOURCE_NAME, target)
    source = git_source(
        repos,
        branches=configured_branches(settings),
        deploy_tag_pattern=settings.deploy_tag_pattern,
        ai_trailer_patterns=ai_assist.trailer_patterns,
        load_files=settings.load_files and _load_files(),
    )
    started = time.perf_counter()
    # Arrow tables: parquet into DuckDB, COPY-able CSV into PostgreSQL
    target = "duckdb" if pipeline.destination.destination_name == "duckdb" else "postgres"
    keep_dlt_columns(pipeline.pipeline_name)
    pipeline.run(source, loader_file_format=file_format(target))
    counts = {t: n for t, n in row_counts(pipeline).items() if n}  # tables created empty are no news
    materialize_missing_tables(pipeline)
    elapsed = time.perf_counter() - started
    log.info("git: %s in %.1fs", ", ".join(f"{t}={n}" for t, n in counts.items()) or "nothing new", elapsed)
    return counts


def load(org: OrgConfig, org_dir: Path, target: str | None = None) -> dict[str, int]:
    """Load the repositories of the org config (or SOURCES__GIT__REPOSITORIES); rows landed per table."""
    settings = getattr(org, "git", None) or GitSettings()
    ai_assist = getattr(org, "ai_assist", None) or AiAssist()
    return run_load(configured_repository_paths(settings, Path(org_dir)), settings, ai_assist, target)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Load local Git repositories into the warehouse.")
    parser.add_argument("--org", type=Path, default=None, help="org config (default: org.yml if present)")
    parser.add_argument("--target", choices=("duckdb", "postgres"), default=None)
    parser.add_argument("repositories", nargs="*", type=Path, help="repository paths (override config)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    org_path = args.org or (Path("org.yml") if Path("org.yml").exists() else None)
    if org_path:
        org = load_org_config(org_path)
        settings, ai_assist, org_dir = org.git, org.ai_assist, org_path.resolve().parent
    else:
        settings, ai_assist, org_dir = GitSettings(), AiAssist(), Path.cwd()
    paths = [p.resolve() for p in args.repositories] or configured_repository_paths(settings, org_dir)
    counts = run_load(paths, settings, ai_assist, args.target)
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    sys.exit(main())
