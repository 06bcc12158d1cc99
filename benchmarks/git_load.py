"""Benchmark of the local Git loader: commits/s for a full load and for an incremental load.

Builds a repository with `git fast-import` (default 30,000 commits on `main`, a merge every 50 commits,
authors in several time zones, trailers on one commit in ten), loads it into a fresh DuckDB file,
appends 100 commits and loads again. Nothing is written inside the project:

    .venv/bin/python -m benchmarks.git_load --commits 30000 --workdir /tmp/flowmart-git-bench
    .venv/bin/python -m benchmarks.git_load --repo /path/to/a/clone   # a real history (read only: no append)

The reference is `git log --numstat` over the same branch (its commits/s, wall and CPU): the loader, which
runs one such `git log` and lands every row, is compared with it.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import shutil
import subprocess
import time
from pathlib import Path

AUTHORS = [(f"Bench Author {i}", f"author{i}@bench.example") for i in range(40)]
OFFSETS = ["+0000", "+0100", "+0200", "+0530", "-0500", "-0800", "+0900", "-0330"]
FILES = [f"src/module_{i:03d}/file_{j}.py" for i in range(60) for j in range(5)]


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def fast_import_stream(count: int, start_mark: int, start_time: int, parent: str | None, seed: int) -> bytes:
    """A fast-import stream of `count` commits on refs/heads/main (every 50th is a --no-ff merge)."""
    rnd = random.Random(seed)
    out: list[bytes] = []
    mark = start_mark
    previous = f":{mark - 1}" if parent is None and start_mark > 1 else parent
    contents: dict[str, int] = {}
    for n in range(count):
        mark += 1
        name, email = rnd.choice(AUTHORS)
        when = start_time + n * 600
        offset = rnd.choice(OFFSETS)
        message = f"change {start_mark + n}\n"
        if n % 10 == 0:
            co_name, co_email = rnd.choice(AUTHORS + [("Claude", "noreply@anthropic.com")])
            message += f"\nCo-authored-by: {co_name} <{co_email}>\nSigned-off-by: {name} <{email}>\n"
        is_merge = n % 50 == 49 and previous is not None
        if is_merge:
            # a side commit, then a merge of it into main
            out.append(b"commit refs/heads/side\n")
            out.append(b"mark :%d\n" % mark)
            out.append(f"author {name} <{email}> {when} {offset}\n".encode())
            out.append(f"committer {name} <{email}> {when} {offset}\n".encode())
            out.append(_data(f"side work {n}\n"))
            out.append(f"from {previous}\n".encode())
            path = rnd.choice(FILES)
            contents[path] = contents.get(path, 0) + 1
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(_data("".join(f"line {i} v{contents[path]}\n" for i in range(20))))
            side = mark
            mark += 1
            out.append(b"commit refs/heads/main\n")
            out.append(b"mark :%d\n" % mark)
            out.append(f"author {name} <{email}> {when + 60} {offset}\n".encode())
            out.append(f"committer {name} <{email}> {when + 60} {offset}\n".encode())
            out.append(_data(f"Merge side {n}\n"))
            out.append(f"from {previous}\n".encode())
            out.append(b"merge :%d\n" % side)
            out.append(b"M 100644 inline %s\n" % path.encode())
            out.append(_data("".join(f"line {i} v{contents[path]}\n" for i in range(20))))
        else:
            out.append(b"commit refs/heads/main\n")
            out.append(b"mark :%d\n" % mark)
            out.append(f"author {name} <{email}> {when} {offset}\n".encode())
            out.append(f"committer {name} <{email}> {when} {offset}\n".encode())
            out.append(_data(message))
            if previous is not None:
                out.append(f"from {previous}\n".encode())
            for path in rnd.sample(FILES, rnd.randint(1, 3)):
                contents[path] = contents.get(path, 0) + 1
                version = contents[path]
                lines = "".join(f"line {i} v{version if i % 3 == 0 else 0}\n" for i in range(rnd.randint(5, 40)))
                out.append(f"M 100644 inline {path}\n".encode())
                out.append(_data(lines))
        previous = f":{mark}"
    return b"".join(out)


def build_repository(path: Path, commits: int) -> None:
    if path.exists():
        shutil.rmtree(path)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    stream = fast_import_stream(commits, start_mark=0, start_time=1_600_000_000, parent=None, seed=1)
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=stream, check=True)


def append_commits(path: Path, commits: int) -> None:
    head = subprocess.run(["git", "-C", str(path), "rev-parse", "main"], capture_output=True, text=True,
                          check=True).stdout.strip()
    stream = fast_import_stream(commits, start_mark=1_000_000, start_time=1_700_000_000, parent=head, seed=2)
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet", "--force"], input=stream, check=True)


def count(path: Path) -> int:
    out = subprocess.run(["git", "-C", str(path), "rev-list", "--count", "main"], capture_output=True,
                         text=True, check=True).stdout
    return int(out)


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the git processes)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def git_log_reference(path: Path, branch: str = "main") -> tuple[int, float, float]:
    """`git log --numstat <branch>` to /dev/null: -> (commits, seconds wall, seconds CPU of git)."""
    started, cpu = time.perf_counter(), cpu_seconds()
    subprocess.run(["git", "-C", str(path), "log", "--numstat", branch], stdout=subprocess.DEVNULL, check=True)
    return count(path), time.perf_counter() - started, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=30_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/flowmart-git-bench"))
    parser.add_argument("--no-files", action="store_true", help="skip the commit_files table")
    parser.add_argument("--repo", type=Path, help="load this repository (branch main) instead of generating one")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    repo = args.repo.resolve() if args.repo else work / "bench-repo"
    warehouse = work / "warehouse"
    if warehouse.exists():
        shutil.rmtree(warehouse)
    os.environ["FLOWMART_DUCKDB_PATH"] = str(warehouse / "bench.duckdb")
    os.environ["FLOWMART_PIPELINES_DIR"] = str(warehouse / "pipelines")
    os.environ.setdefault("FLOWMART__PSEUDONYM_SALT", "benchmark")
    os.environ["SOURCES__GIT__REPOSITORIES"] = str(repo)
    if args.no_files:
        os.environ["SOURCES__GIT__LOAD_FILES"] = "false"

    from pipelines.git import run_load
    from pipelines.orgconfig import AiAssist, GitSettings

    if not args.repo:
        started = time.perf_counter()
        build_repository(repo, args.commits)
        print(f"built {repo} with {count(repo)} commits on main in {time.perf_counter() - started:.1f}s")

    commits, log_wall, log_cpu = git_log_reference(repo)
    print(f"git log --numstat: {commits} commits in {log_wall:.2f}s wall ({log_cpu:.2f}s CPU) = "
          f"{commits / log_wall:,.0f} commits/s wall, {commits / log_cpu:,.0f} commits/s CPU")
    started, cpu = time.perf_counter(), cpu_seconds()
    counts = run_load([repo], GitSettings(), AiAssist())
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    loaded = counts.get("commits", 0)
    print(f"full load: {loaded} commits in {elapsed:.2f}s wall ({cpu:.2f}s CPU, git included) = "
          f"{loaded / elapsed:,.0f} commits/s wall, {loaded / cpu:,.0f} commits/s CPU  {counts}")
    print(f"loader / git log --numstat: {log_wall / elapsed:.0%} by wall, {log_cpu / cpu:.0%} by CPU")
    if args.repo:
        return

    append_commits(repo, 100)
    new_total = count(repo)
    started, cpu = time.perf_counter(), cpu_seconds()
    counts = run_load([repo], GitSettings(), AiAssist())
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(f"incremental load: {counts.get('commits', 0)} new commits (main now {new_total}) in {elapsed:.2f}s wall "
          f"({cpu:.1f}s CPU) "
          f"= {counts.get('commits', 0) / elapsed:,.0f} commits/s  {counts}")

    import duckdb

    with duckdb.connect(os.environ["FLOWMART_DUCKDB_PATH"], read_only=True) as con:
        landed = con.execute("select count(*) from raw_git.branch_commits where branch = 'main'").fetchall()[0][0]
    print(f"branch_commits(main) = {landed}, git rev-list --count main = {new_total}")
    if landed != new_total:
        raise SystemExit("MISMATCH between the warehouse and git rev-list --count")


if __name__ == "__main__":
    main()
