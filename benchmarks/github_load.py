"""Benchmark: load the sample organisation's GitHub data (pull requests with reviews, comments, commits and
labels; deployments) through the local API server into a fresh DuckDB file, and report what it spent of
GitHub's hourly budgets as the server counted it (GraphQL points by GitHub's cost formula, REST requests) and
the PRs landed per rate-limit hour (PRs / points * 5,000; for --api rest, PRs / REST requests * 5,000).

    .venv/bin/python benchmarks/github_load.py [--scale 1] [--api graphql|rest] [--workdir /tmp/flowmart-bench-github]

The server's simulated budget is raised (FLOWMART_SAMPLE_GITHUB_POINTS) so the run is not paused for the
simulated hour; the points are counted all the same.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
from datetime import date
from pathlib import Path

import requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--api", choices=["graphql", "rest"], default="graphql")
    parser.add_argument("--workdir", default="/tmp/flowmart-bench-github")
    args = parser.parse_args()
    work = Path(args.workdir)
    sample = work / f"sample-{args.scale}"
    warehouse = work / f"warehouse-{args.api}-{args.scale}"
    shutil.rmtree(warehouse, ignore_errors=True)
    os.environ["FLOWMART_DUCKDB_PATH"] = str(warehouse / "bench.duckdb")
    os.environ["FLOWMART_PIPELINES_DIR"] = str(warehouse / "pipelines")
    os.environ.setdefault("FLOWMART__PSEUDONYM_SALT", "benchmark")
    os.environ["FLOWMART_SAMPLE_GITHUB_POINTS"] = "100000000"
    os.environ["SOURCES__GITHUB__API"] = args.api
    logging.basicConfig(level=logging.WARNING)

    from pipelines import github
    from pipelines.orgconfig import load_org_config
    from pipelines.sample.generate import generate_sample
    from pipelines.sample.server import SubprocessServer

    if not (sample / "org.yml").exists():
        started = time.perf_counter()
        counts = generate_sample(sample, scale=args.scale, anchor=date(2026, 10, 1))
        print(f"generated {counts} in {time.perf_counter() - started:.1f} s")
    org = load_org_config(sample / "org.yml")
    with SubprocessServer(sample) as server:  # the server on the other core, as GitHub would be
        os.environ.update(SOURCES__GITHUB__BASE_URL=server.url, SOURCES__GITHUB__ACCESS_TOKEN="benchmark")
        started = time.perf_counter()
        counts = github.load(org)
        seconds = time.perf_counter() - started
        usage = requests.get(f"{server.url}/_control/usage", timeout=10).json()
    prs = counts["pull_requests"]
    if args.api == "graphql":
        spent, unit = usage["graphql_points"], "GraphQL points"
    else:
        spent, unit = usage["rest_requests"], "REST requests"
    print(f"github full load ({args.api}), scale {args.scale}: {prs} PRs, {counts.get('reviews', 0)} reviews, "
          f"{counts.get('pr_comments', 0)} comments, {counts.get('pr_commits', 0)} commits in {seconds:.1f} s")
    print(f"server counted: {usage['graphql_requests']} GraphQL queries = {usage['graphql_points']} points "
          f"({usage['graphql_operations']}); {usage['rest_requests']} REST requests (deployments, workflow runs"
          f"{', pull requests' if args.api == 'rest' else ''})")
    print(f"PRs per rate-limit hour: {prs} PRs / {spent} {unit} * 5000 = {prs / max(spent, 1) * 5000:,.0f}"
          f" (loader's own count: {counts['_github_prs_per_rate_limit_hour']:,})")


if __name__ == "__main__":
    main()
