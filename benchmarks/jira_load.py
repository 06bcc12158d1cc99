"""Benchmark: load the sample organisation's Jira issues (with complete changelogs) through the local
API server into a fresh DuckDB file, and report issues/s; optionally the floor, DuckDB's `read_json`
over the same API pages.

    .venv/bin/python benchmarks/jira_load.py [--scale 1] [--latency 0.15] [--concurrency 6] [--floor]
                                             [--workdir /tmp/flowmart-bench]

`--latency` delays every answer of the server by that many seconds (a network's round trip; the
server answers concurrent requests concurrently). `--floor` first saves the API pages the loader reads
(search pages with embedded changelogs, and the changelog pages of issues whose embedded changelog is
truncated) as JSON files, then times DuckDB's `read_json` over them: issues/s of a parser that does
nothing but read the same bytes, the figure the loader is compared with.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import time
from datetime import date
from pathlib import Path


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU of this process (the loader), or of its finished children (the server)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def save_pages(url: str, jql: str, folder: Path) -> tuple[int, int]:
    """The pages the loader reads, saved as JSON files: -> (issues, files)."""
    from pipelines.http import ApiClient
    from pipelines.jira import CHANGELOG_PAGE, PAGE_SIZE, _Fetcher

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "search").mkdir(parents=True)
    (folder / "changelog").mkdir(parents=True)
    client = ApiClient(url, auth=("b", "b"))
    issues = files = 0
    token = None
    while True:
        body = {"jql": f"({jql}) ORDER BY updated ASC", "maxResults": PAGE_SIZE, "fields": ["*all"],
                "expand": "changelog"} | ({"nextPageToken": token} if token else {})
        _, response = client.post("/rest/api/3/search/jql", body)
        page = json.loads(response.content)
        (folder / "search" / f"{files:06d}.json").write_bytes(response.content)
        files += 1
        for issue in page["issues"]:
            issues += 1
            if _Fetcher.embedded_changelog(issue) is None:
                start = 0
                while True:
                    _, answer = client.get(f"/rest/api/3/issue/{issue['id']}/changelog",
                                           {"startAt": start, "maxResults": CHANGELOG_PAGE})
                    (folder / "changelog" / f"{files:06d}.json").write_bytes(answer.content)
                    files += 1
                    data = json.loads(answer.content)
                    start += len(data["values"])
                    if data.get("isLast", True) or not data["values"]:
                        break
        token = page.get("nextPageToken")
        if page.get("isLast") or not token:
            return issues, files


def read_json_floor(folder: Path) -> tuple[int, float, float]:
    """DuckDB's read_json over the saved pages: -> (issues, histories... counted, seconds wall, CPU)."""
    import duckdb

    con = duckdb.connect()
    con.execute("set threads = 1")  # one core, as the loader's parsing has
    started, cpu = time.perf_counter(), cpu_seconds()
    issues = con.execute(
        f"select count(*) from (select unnest(issues) from read_json('{folder}/search/*.json', "
        "maximum_object_size = 1000000000, union_by_name = true))").fetchone()[0]
    con.execute(
        f"select count(*) from (select unnest(\"values\") from read_json('{folder}/changelog/*.json', "
        "maximum_object_size = 1000000000, union_by_name = true))").fetchone()
    return issues, time.perf_counter() - started, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workdir", default="/tmp/flowmart-bench")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the server waits before each answer")
    parser.add_argument("--concurrency", type=int, default=None, help="requests in flight (SOURCES__JIRA__CONCURRENCY)")
    parser.add_argument("--floor", action="store_true", help="also time DuckDB read_json over the same pages")
    parser.add_argument("--no-load", action="store_true", help="only the floor")
    args = parser.parse_args()
    work = Path(args.workdir)
    sample = work / f"sample-{args.scale}"
    warehouse = work / "warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    os.environ["FLOWMART_DUCKDB_PATH"] = str(warehouse / "bench.duckdb")
    os.environ["FLOWMART_PIPELINES_DIR"] = str(warehouse / "pipelines")
    os.environ.setdefault("FLOWMART__PSEUDONYM_SALT", "benchmark")
    if args.concurrency is not None:
        os.environ["SOURCES__JIRA__CONCURRENCY"] = str(args.concurrency)
    logging.basicConfig(level=logging.WARNING)

    from pipelines import jira
    from pipelines.orgconfig import load_org_config
    from pipelines.sample.generate import generate_sample
    from pipelines.sample.server import SubprocessServer

    if not (sample / "org.yml").exists():
        started = time.perf_counter()
        counts = generate_sample(sample, scale=args.scale, anchor=date(2026, 10, 1))
        print(f"generated {counts} in {time.perf_counter() - started:.1f} s")
    org = load_org_config(sample / "org.yml")
    if args.floor:
        with SubprocessServer(sample) as server:  # no latency: the floor is the parse of the bytes
            issues, files = save_pages(server.url, org.jira_scope_jql(), work / "pages")
        size = sum(f.stat().st_size for f in (work / "pages").rglob("*.json")) / 1e6
        issues, seconds, cpu = read_json_floor(work / "pages")
        print(f"read_json floor: {issues} issues, {files} pages ({size:.0f} MB) in {seconds:.2f} s wall "
              f"({cpu:.2f} s CPU) = {issues / seconds:.0f} issues/s")
    if args.no_load:
        return
    server_cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
    with SubprocessServer(sample, latency=args.latency) as server:  # the server on the other core, as a real Jira
        os.environ.update(SOURCES__JIRA__BASE_URL=server.url, SOURCES__JIRA__EMAIL="b", SOURCES__JIRA__API_TOKEN="b")
        started, cpu = time.perf_counter(), cpu_seconds()
        counts = jira.load(org)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    server_cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - server_cpu  # the server has ended: its CPU is counted
    issues = counts["_issues_fetched"]
    print(f"jira full load (latency {args.latency * 1000:.0f} ms): {issues} issues, "
          f"{counts.get('changelog_items', 0)} changelog items in {seconds:.1f} s wall ({cpu:.1f} s CPU, "
          f"server {server_cpu:.1f} s CPU) = {issues / seconds:.0f} issues/s (extract + normalise + load, "
          f"incl. reconciliation)")


if __name__ == "__main__":
    main()
