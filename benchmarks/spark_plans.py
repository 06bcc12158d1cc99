"""How the build spreads over a Spark cluster: for every model of a Spark build, the shuffles (Exchange
operators) of its physical plan and the keys they partition on, and its node time from dbt's run results.

    FLOWMART_SPARK_DIR=<the run's spark folder> .venv/bin/python -m benchmarks.spark_plans \
        --target-path dbt_project/target [--top 15]

Run it after `flowmart build --target spark` (the compiled SQL and run_results.json are in the target path).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

SHUFFLE = re.compile(r"Exchange (hashpartitioning|rangepartitioning|SinglePartition|RoundRobinPartitioning)"
                     r"(?:\(([^)]*)\))?")
BROADCAST = re.compile(r"BroadcastExchange")


def _keys(arguments: str) -> str:
    """`issue_id#12, team#40, 4` -> `issue_id, team`."""
    parts = [re.sub(r"#\d+L?", "", p.strip()) for p in arguments.split(",")]
    return ", ".join(p for p in parts[:-1] if p)  # the last argument is the partition count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target-path", default="dbt_project/target")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    target = Path(args.target_path)
    results = json.loads((target / "run_results.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    times = {r["unique_id"]: r["execution_time"] for r in results["results"] if r["unique_id"].startswith("model.")}

    from pipelines.spark import session

    spark = session()
    rows = []
    for unique_id, seconds in sorted(times.items(), key=lambda kv: -kv[1])[: args.top]:
        node = manifest["nodes"][unique_id]
        compiled = target / "compiled" / node["package_name"] / node["original_file_path"]
        plan = spark.sql(f"explain {compiled.read_text()}").collect()[0][0]
        shuffles = SHUFFLE.findall(plan)
        keys = sorted({_keys(a) for kind, a in shuffles if kind == "hashpartitioning" and a})
        rows.append((node["name"], seconds, node["config"]["materialized"], len(shuffles),
                     len(BROADCAST.findall(plan)), keys))
    print("| model | node s | materialized | shuffles | broadcasts | hash-partitioned on |")
    print("|---|---|---|---|---|---|")
    for name, seconds, materialized, shuffles, broadcasts, keys in rows:
        shown = "; ".join(keys[:4]) + (f"; … ({len(keys)} key sets)" if len(keys) > 4 else "")
        print(f"| {name} | {seconds:.1f} | {materialized} | {shuffles} | {broadcasts} | {shown} |")


if __name__ == "__main__":
    main()
