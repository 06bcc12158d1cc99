"""Benchmark: load the sample organisation's Jira issues (with complete changelogs) through the local
API server into a fresh DuckDB file, and report issues/s.

    .venv/bin/python benchmarks/jira_load.py [--scale 1] [--workdir /tmp/flowmart-bench]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
from datetime import date
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workdir", default="/tmp/flowmart-bench")
    args = parser.parse_args()
    work = Path(args.workdir)
    sample = work / f"sample-{args.scale}"
    warehouse = work / "warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    os.environ["FLOWMART_DUCKDB_PATH"] = str(warehouse / "bench.duckdb")
    os.environ.setdefault("FLOWMART__PSEUDONYM_SALT", "benchmark")
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
    with SubprocessServer(sample) as server:  # the server on the other core, as a real Jira would be
        os.environ.update(SOURCES__JIRA__BASE_URL=server.url, SOURCES__JIRA__EMAIL="b", SOURCES__JIRA__API_TOKEN="b")
        started = time.perf_counter()
        counts = jira.load(org)
        seconds = time.perf_counter() - started
    issues = counts["_issues_fetched"]
    print(f"jira full load: {issues} issues, {counts.get('changelog_items', 0)} changelog items "
          f"in {seconds:.1f} s = {issues / seconds:.0f} issues/s (extract + normalise + load, incl. reconciliation)")


if __name__ == "__main__":
    main()
