"""The local Git loader against real repositories built with `git` in a temporary folder, and against
this project's own history. Every count is checked against `git rev-list --count`."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import git as git_loader
from pipelines.orgconfig import AiAssist, GitSettings, parse_org_config
from pipelines.privacy import Pseudonymiser
from pipelines.sample.world import build_world

SALT = "test-salt"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PEOPLE = build_world(seed=7).people[:4]
ADA, BOB, CAROL, DAN = PEOPLE
CLEAN_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env=os.environ | CLEAN_ENV | (env or {}),
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def commit(repo: Path, message: str, author, date: str, files: dict[str, str] | None = None, committer=None,
           committer_date: str | None = None) -> str:
    for name, text in (files or {f"file-{abs(hash(message)) % 10_000}.txt": message}).items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        git(repo, "add", name)
    committer = committer or author
    env = {
        "GIT_AUTHOR_NAME": author.display_name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": committer.display_name,
        "GIT_COMMITTER_EMAIL": committer.email,
        "GIT_COMMITTER_DATE": committer_date or date,
    }
    git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD")


def rev_count(repo: Path, rev: str) -> int:
    return int(git(repo, "rev-list", "--count", rev))


def query(sql: str, *params):
    with duckdb.connect(os.environ["FLOWMART_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


@pytest.fixture(autouse=True)
def warehouse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("FLOWMART_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("FLOWMART__PSEUDONYM_SALT", SALT)
    for key in ("SOURCES__GIT__REPOSITORIES", "SOURCES__GIT__BRANCHES", "SOURCES__GIT__LOAD_FILES"):
        monkeypatch.delenv(key, raising=False)
    return tmp_path / "wh.duckdb"


def _hotfix_merge_and_deploy_tag(path: Path) -> None:
    """On main (from the `feature` branch): a hotfix, a --no-ff merge of `feature` by Dan, an annotated deploy tag."""
    git(path, "checkout", "-q", "main")
    commit(path, "hotfix on main", CAROL, "2024-03-05T08:00:00+09:00", {"src/app.py": "a\n"})
    git(path, "merge", "-q", "--no-ff", "feature", "-m", "Merge branch 'feature'",
        env={"GIT_AUTHOR_NAME": DAN.display_name, "GIT_AUTHOR_EMAIL": DAN.email,
             "GIT_COMMITTER_NAME": DAN.display_name, "GIT_COMMITTER_EMAIL": DAN.email,
             "GIT_AUTHOR_DATE": "2024-03-06T12:00:00-03:00", "GIT_COMMITTER_DATE": "2024-03-06T12:00:00-03:00"})
    git(path, "tag", "-a", "deploy-2024-03-06", "-m", "release",
        env={"GIT_COMMITTER_NAME": DAN.display_name, "GIT_COMMITTER_EMAIL": DAN.email,
             "GIT_COMMITTER_DATE": "2024-03-06T15:00:00+02:00"})


@pytest.fixture
def repo(tmp_path) -> Path:
    """main: 4 commits in 4 time zones + a --no-ff merge of `feature` (2 commits); tags; trailers."""
    path = tmp_path / "repos" / "payments-api"
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    commit(path, "initial layout", ADA, "2024-03-01T09:00:00+05:30",
           {"src/app.py": "a\nb\nc\n", "docs/read me.md": "hello\n"})
    commit(
        path,
        "add ledger\n\nBody text that mentions nobody.\n\n"
        f"Co-authored-by: GitHub Copilot <175728472+Copilot@users.noreply.github.com>\n"
        f"Co-authored-by: {BOB.display_name} <{BOB.email}>\n"
        f"Signed-off-by: {ADA.display_name} <{ADA.email}>\n"
        "Change-Id: I0123456789abcdef",
        ADA,
        "2024-03-02T18:30:00-08:00",
        {"src/ledger.py": "x\n" * 10, "src/app.py": "a\nB\nc\nd\n"},
        committer=CAROL,
        committer_date="2024-03-03T04:00:00+01:00",
    )
    git(path, "tag", "v1.0")  # lightweight, not a deploy tag
    git(path, "checkout", "-q", "-b", "feature")
    commit(path, "feature work 1", BOB, "2024-03-04T10:00:00+00:00")
    commit(path, "feature work 2\n\nReviewed-by: " + f"{DAN.display_name} <{DAN.email}>", BOB,
           "2024-03-04T11:00:00+00:00")
    _hotfix_merge_and_deploy_tag(path)
    return path


def run(paths: list[Path], branches=("main",), deploy_tag_pattern: str | None = r"^deploy-") -> dict[str, int]:
    settings = GitSettings(branches=list(branches), deploy_tag_pattern=deploy_tag_pattern)
    return git_loader.run_load(paths, settings, AiAssist())


def test_commit_and_branch_counts_equal_git_rev_list_count_with_merges(repo):
    counts = run([repo], branches=("main", "feature"))

    assert rev_count(repo, "main") == 6
    assert counts["commits"] == rev_count(repo, "--all")
    assert query("select count(*) from raw_git.commits") == [(rev_count(repo, "--all"),)]
    for branch in ("main", "feature"):
        landed = query("select count(*) from raw_git.branch_commits where branch = ?", branch)
        assert landed == [(rev_count(repo, branch),)]
    merge_sha = git(repo, "rev-parse", "main")
    assert query("select is_merge, parent_count, parent_shas, files_changed from raw_git.commits where sha = ?",
                 merge_sha) == [(True, 2, git(repo, "rev-parse", "main^1") + " " + git(repo, "rev-parse", "main^2"),
                                 0)]


def test_times_land_as_utc_instants_with_their_original_offsets(repo):
    run([repo])
    sha = git(repo, "rev-parse", "main~2")  # main~1 is the hotfix, main~2 is "add ledger"
    assert git(repo, "log", "-1", "--format=%s", sha) == "add ledger"
    (authored, a_offset, committed, c_offset), = query(
        "select authored_at, author_tz_offset_minutes, committed_at, committer_tz_offset_minutes "
        "from raw_git.commits where sha = ?", sha)
    assert authored == datetime(2024, 3, 3, 2, 30, tzinfo=UTC)  # 18:30 at -08:00
    assert a_offset == -480
    assert committed == datetime(2024, 3, 3, 3, 0, tzinfo=UTC)  # 04:00 at +01:00
    assert c_offset == 60
    first = git(repo, "rev-list", "--max-parents=0", "main")
    assert query("select authored_at, author_tz_offset_minutes from raw_git.commits where sha = ?", first) == [
        (datetime(2024, 3, 1, 3, 30, tzinfo=UTC), 330)
    ]


def test_files_and_line_counts_match_git_numstat(repo):
    run([repo])
    sha = git(repo, "rev-parse", "main~2")
    expected = {}
    for line in git(repo, "show", "--numstat", "--format=", sha).splitlines():
        added, deleted, path = line.split("\t")
        expected[path] = (int(added), int(deleted))
    rows = query("select path, lines_added, lines_deleted from raw_git.commit_files where sha = ?", sha)
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    assert query("select files_changed, lines_added, lines_deleted from raw_git.commits where sha = ?", sha) == [
        (len(expected), sum(a for a, _ in expected.values()), sum(d for _, d in expected.values()))
    ]
    first = git(repo, "rev-list", "--max-parents=0", "main")
    paths = {r[0] for r in query("select path from raw_git.commit_files where sha = ?", first)}
    assert paths == {"src/app.py", "docs/read me.md"}


def test_trailers_flag_ai_assistance_before_hashing_people(repo):
    run([repo])
    sha = git(repo, "rev-parse", "main~2")
    rows = query(
        "select trailer_key, trailer_value, is_person, is_ai_assist from raw_git.commit_trailers "
        "where sha = ? order by trailer_index", sha)
    hashed = Pseudonymiser(SALT)
    assert rows == [
        ("Co-authored-by", hashed("175728472+copilot@users.noreply.github.com"), True, True),
        ("Co-authored-by", hashed(BOB.email), True, False),
        ("Signed-off-by", hashed(ADA.email), True, False),
        ("Change-Id", "I0123456789abcdef", False, False),
    ]
    assert query("select is_ai_assisted, co_author_count, trailer_count, author_id, committer_id "
                 "from raw_git.commits where sha = ?", sha) == [(True, 2, 4, hashed(ADA.email), hashed(CAROL.email))]
    assert query("select count(*) from raw_git.commits where is_ai_assisted") == [(1,)]


def test_tags_land_and_only_deploy_tags_become_production_deployments(repo):
    counts = run([repo])
    assert counts["tags"] == 2
    assert sorted(query("select tag_name, is_annotated, sha from raw_git.tags")) == [
        ("deploy-2024-03-06", True, git(repo, "rev-parse", "main")),
        ("v1.0", False, git(repo, "rev-parse", "main~2")),
    ]
    assert query("select deployment_id, sha, environment, status, deployed_at, deployed_tz_offset_minutes "
                 "from raw_git.deployments") == [
        ("payments-api@deploy-2024-03-06", git(repo, "rev-parse", "main"), "production", "success",
         datetime(2024, 3, 6, 13, 0, tzinfo=UTC), 120)
    ]
    assert query("select tagger_id from raw_git.tags where tag_name = 'deploy-2024-03-06'") == [
        (Pseudonymiser(SALT)(DAN.email),)
    ]


def test_incremental_rerun_loads_only_new_commits_and_never_duplicates(repo):
    run([repo])
    assert run([repo]).get("commits", 0) == 0  # nothing new: nothing read
    for i in range(3):
        commit(repo, f"later change {i}", ADA, f"2024-04-0{i + 1}T10:00:00+02:00")
    counts = run([repo])
    assert counts["commits"] == 3
    assert counts["branch_commits"] == 3
    assert query("select count(*), count(distinct sha) from raw_git.commits") == [(rev_count(repo, "main"),) * 2]
    assert query("select count(*) from raw_git.branch_commits where branch = 'main'") == [(rev_count(repo, "main"),)]
    assert query("select count(*) from raw_git.tags") == [(2,)]


def test_force_push_reloads_the_branch_and_drops_memberships_of_commits_that_left_it(repo):
    run([repo])
    dropped = git(repo, "rev-parse", "main")
    git(repo, "reset", "-q", "--hard", "main~1")
    replacement = commit(repo, "rewritten history", CAROL, "2024-03-07T09:00:00+00:00")
    counts = run([repo])
    on_main = {r[0] for r in query("select sha from raw_git.branch_commits where branch = 'main'")}
    assert on_main == set(git(repo, "rev-list", "main").split())
    assert dropped not in on_main and replacement in on_main
    assert counts["commits"] == 1  # only the new commit is read again
    assert query("select count(*) from raw_git.commits where sha = ?", dropped) == [(1,)]  # history is kept


def test_several_repositories_from_sources_git_repositories(tmp_path, repo, monkeypatch):
    other = tmp_path / "repos" / "ledger"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    for i in range(3):
        commit(other, f"ledger {i}", BOB, f"2024-05-0{i + 1}T10:00:00+00:00")
    monkeypatch.setenv("SOURCES__GIT__REPOSITORIES", f"{repo}, {other}")
    org = parse_org_config({
        "value_streams": [{"name": "Payments"}],
        "teams": [{"name": "payments-core", "value_stream": "Payments"}],
        "git": {"repositories": ["does/not/exist"], "deploy_tag_pattern": "^deploy-"},
    })
    counts = git_loader.load(org, tmp_path)
    assert counts["commits"] == rev_count(repo, "main") + rev_count(other, "main")
    assert sorted(query("select repository, count(*) from raw_git.branch_commits group by 1")) == [
        ("ledger", 3), ("payments-api", rev_count(repo, "main"))]
    monkeypatch.setenv("SOURCES__GIT__REPOSITORIES", f'["{repo}", "{other}"]')
    settings = GitSettings(repositories=["ignored"])
    assert git_loader.configured_repository_paths(settings, tmp_path) == [repo, other]


def test_org_config_repositories_are_relative_to_the_org_config_folder(tmp_path, repo):
    org = parse_org_config({
        "value_streams": [{"name": "Payments"}],
        "teams": [{"name": "payments-core", "value_stream": "Payments"}],
        "git": {"repositories": ["repos/payments-api"], "branches": ["main", "feature"]},
    })
    counts = git_loader.load(org, tmp_path)
    assert counts["commits"] == rev_count(repo, "--all")
    assert "deployments" not in counts  # no deploy tag pattern configured
    # ... yet the table exists (with its columns) for the staging models
    assert query("select count(*) from raw_git.deployments") == [(0,)]
    assert ("deployed_at", "TIMESTAMP WITH TIME ZONE") in query(
        "select column_name, data_type from information_schema.columns where table_name = 'deployments'")


def test_every_table_exists_for_a_repository_without_trailers_or_tags(tmp_path):
    path = tmp_path / "bare-history"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, "empty", ADA, "2024-01-01T00:00:00Z")
    git(path, "commit", "-q", "--allow-empty", "-m", "also empty",
        env={"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@example.org", "GIT_COMMITTER_NAME": "x",
             "GIT_COMMITTER_EMAIL": "x@example.org"})
    git(path, "rm", "-q", "-r", ".")
    git(path, "commit", "-q", "--allow-empty", "-m", "nothing left",
        env={"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@example.org", "GIT_COMMITTER_NAME": "x",
             "GIT_COMMITTER_EMAIL": "x@example.org"})
    run([path])
    tables = {t for (t,) in query("select table_name from information_schema.tables where table_schema = 'raw_git'")}
    assert tables >= {"commits", "commit_files", "commit_trailers", "branch_commits", "tags", "deployments"}
    assert query("select count(*) from raw_git.commit_trailers") == [(0,)]
    assert query("select count(*) from raw_git.commits") == [(3,)]


def test_a_missing_repository_fails_loudly(tmp_path):
    with pytest.raises(git_loader.GitError, match="does not exist"):
        run([tmp_path / "nowhere"])
    (tmp_path / "plain").mkdir()
    with pytest.raises(git_loader.GitError, match="not a Git repository"):
        run([tmp_path / "plain"])


def test_no_name_or_email_of_the_people_reaches_any_table(repo, warehouse):
    run([repo], branches=("main", "feature"))
    needles = {p.display_name.lower() for p in PEOPLE} | {p.email.lower() for p in PEOPLE}
    needles |= {p.email.split("@")[0].lower() for p in PEOPLE}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'").fetchall()
        assert len({(s, t) for s, t, _ in columns}) >= 6
        scanned = 0
        for schema, table, column in columns:
            for (value,) in con.execute(f'select distinct "{column}" from "{schema}"."{table}"').fetchall():
                scanned += 1
                text = str(value).lower()
                leaked = [n for n in needles if n in text]
                assert not leaked, f"{schema}.{table}.{column} holds {leaked}: {value!r}"
        assert scanned > 50
        emails = con.execute(
            "select count(*) from raw_git.commit_trailers where trailer_value like '%@%'").fetchall()
        assert emails == [(0,)]


def test_loads_this_projects_own_history():
    if subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--verify", "-q", "HEAD"],
                      capture_output=True).returncode != 0:
        pytest.skip("this project's repository has no commits yet")
    branch = git(PROJECT_ROOT, "rev-parse", "--abbrev-ref", "HEAD")
    counts = run([PROJECT_ROOT], branches=(branch,))
    expected = rev_count(PROJECT_ROOT, "HEAD")
    assert counts["commits"] == expected
    assert query("select count(*) from raw_git.branch_commits") == [(expected,)]


def test_the_source_checks_repositories_when_it_runs_not_when_it_is_built(tmp_path):
    org = parse_org_config({
        "value_streams": [{"name": "Payments"}],
        "teams": [{"name": "payments-core", "value_stream": "Payments"}],
        "git": {"repositories": ["repos/not-cloned-yet"]},
    })
    source = git_loader.source_from_org(org, tmp_path)  # what Dagster does when definitions load
    assert {r for r in source.resources} == {"commits", "tags", "deployments"}
    with pytest.raises(Exception, match="not-cloned-yet: repository folder does not exist"):
        git_loader.make_pipeline("git").run(source)


GOLDEN = Path(__file__).parent / "data" / "git_landed_rows.json"
_GOLDEN_TABLES = ("commits", "commit_files", "commit_trailers", "branch_commits", "tags", "deployments")


def _landed_rows() -> dict[str, Any]:
    """Every table's columns and rows (dlt's random `_dlt_id` and load id left out of the rows), as JSON."""
    out: dict[str, Any] = {}
    with duckdb.connect(os.environ["FLOWMART_DUCKDB_PATH"], read_only=True) as con:
        for table in _GOLDEN_TABLES:
            columns = [(c, t, n) for c, t, n in con.execute(
                "select column_name, data_type, is_nullable from information_schema.columns "
                "where table_schema = 'raw_git' and table_name = ? order by column_name", [table]).fetchall()]
            values = [c for c, _, _ in columns if c not in ("_dlt_id", "_dlt_load_id")]
            rows = con.execute(f"select {', '.join(values)} from raw_git.{table} order by all").fetchall()
            out[table] = {"columns": [list(c) for c in columns],
                          "rows": [[v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in r]
                                   for r in rows]}
    return out


def golden_repository(tmp_path: Path) -> Path:
    """The `repo` fixture's history plus a rename, a binary file and a second branch: every kind of row."""
    path = tmp_path / "repos" / "golden"
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    commit(path, "initial layout", ADA, "2024-03-01T09:00:00+05:30",
           {"src/app.py": "a\nb\nc\n", "docs/read me.md": "hello\n", "src/ünïcode.py": "u\n"})
    commit(path, f"add ledger\n\nCo-authored-by: {BOB.display_name} <{BOB.email}>\nChange-Id: I01\n"
           "Co-authored-by: Claude <noreply@anthropic.com>", ADA, "2024-03-02T18:30:00-08:00",
           {"src/ledger.py": "x\n" * 10, "src/app.py": "a\nB\nc\nd\n"}, committer=CAROL,
           committer_date="2024-03-03T04:00:00+01:00")
    git(path, "mv", "src/ledger.py", "src/books.py")
    (path / "logo.bin").write_bytes(bytes(range(256)) * 4)
    git(path, "add", "logo.bin")
    commit(path, "rename the ledger, add a logo", BOB, "2024-03-04T10:00:00+00:00", {"src/books.py": "x\n" * 11})
    git(path, "checkout", "-q", "-b", "feature")
    commit(path, "feature work\n\nReviewed-by: " + f"{DAN.display_name} <{DAN.email}>", BOB,
           "2024-03-04T11:00:00+00:00", {"src/feature.py": "f\n" * 3})
    _hotfix_merge_and_deploy_tag(path)
    return path


def test_landed_rows_are_those_of_the_reference_load(tmp_path):
    """The rows (and columns) a fixed history lands are exactly those the loader landed before it was made
    faster (`tests/data/git_landed_rows.json`, written by the per-row loader); re-running changes nothing."""
    repo = golden_repository(tmp_path)
    run([repo], branches=("main", "feature"))
    landed = _landed_rows()
    if os.environ.get("FLOWMART_WRITE_GOLDEN"):  # pragma: no cover - how the reference was written
        GOLDEN.write_text(json.dumps(landed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for table in _GOLDEN_TABLES:
        assert landed[table]["columns"] == expected[table]["columns"], table
        assert landed[table]["rows"] == expected[table]["rows"], table
    run([repo], branches=("main", "feature"))
    assert _landed_rows() == landed
