"""Where DuckDB's time goes in one dbt invocation: its SQL statements, replayed from dbt's debug log.

    .venv/bin/python -m benchmarks.sql_profile LOG WAREHOUSE [--run N] [--top 25]

LOG is a dbt.log (debug level, as dbt writes it); WAREHOUSE a copy of the DuckDB file as it was before that
invocation (e.g. `after-incremental.duckdb` of benchmarks/flow_build.py for its later daily runs; the file
is changed by the replay, so give a copy). The statements of the Nth invocation in the log (default: the
last one; negative counts from the end) run one after the other on one connection, transaction statements
left out, with DuckDB's profiler on. Prints DuckDB's CPU and wall time per node and the costliest
statements. dbt's own time (Python per node) is what the invocation's elapsed time adds to this.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import tempfile
import time
from pathlib import Path

LINE = re.compile(r".*?\d\d:\d\d:\d\d\.\d+ \[\w+\s*\] \[[^\]]*\]: (.*)")
STARTS = "Running with dbt="
SKIPPED = {"BEGIN", "COMMIT", "ROLLBACK", "CLOSE"}


def invocation_statements(log: Path, run: int) -> list[tuple[str, str]]:
    """(node name, SQL) of each statement dbt sent in the chosen invocation, in the log's order."""
    lines = log.read_text(errors="replace").split("\n")
    starts = [i for i, line in enumerate(lines) if STARTS in line]
    if not starts:
        raise SystemExit(f"no dbt invocation in {log}")
    index = run if run < 0 else run - 1
    begin = starts[index]
    end = starts[index + 1] if index + 1 < len(starts) and index != -1 else len(lines)
    statements = []
    i = begin
    while i < end:
        match = LINE.match(lines[i])
        message = match.group(1) if match else ""
        i += 1
        if not message.startswith("On ") or ": " not in message[3:]:
            continue
        node, first = message[3:].split(": ", 1)
        body = [first]
        while i < end and not LINE.match(lines[i]):
            body.append(lines[i])
            i += 1
        sql = "\n".join(body)
        if sql.strip().upper() not in SKIPPED:
            statements.append((node.rsplit(".", 1)[-1], sql))
    return statements


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log", type=Path)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--run", type=int, default=-1, help="which invocation of the log (1 = first, -1 = last)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    import duckdb

    statements = invocation_statements(args.log, args.run)
    profile = Path(tempfile.mkdtemp()) / "profile.json"
    conn = duckdb.connect(str(args.warehouse))
    conn.execute("pragma enable_profiling = 'json'")
    conn.execute(f"pragma profiling_output = '{profile}'")
    cpu: collections.Counter[str] = collections.Counter()
    wall: collections.Counter[str] = collections.Counter()
    costliest = []
    for node, sql in statements:
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        seconds = time.perf_counter() - started
        query_cpu = json.loads(profile.read_text())["query"]["cpu_time"]
        cpu[node] += query_cpu
        wall[node] += seconds
        text = " ".join(re.sub(r"/\*.*?\*/", "", sql, flags=re.S).split())
        costliest.append((query_cpu, seconds, node, text[:80]))
    conn.close()
    print(f"{len(statements)} statements: DuckDB CPU {sum(cpu.values()):.2f} s, wall {sum(wall.values()):.2f} s "
          "(one after the other)")
    print(f"{'CPU s':>7} {'wall s':>7}  node")
    for node, seconds in cpu.most_common(args.top):
        print(f"{seconds:7.3f} {wall[node]:7.3f}  {node}")
    print(f"\n{'CPU s':>7} {'wall s':>7}  statement")
    for query_cpu, seconds, node, text in sorted(costliest, reverse=True)[: args.top]:
        print(f"{query_cpu:7.3f} {seconds:7.3f}  {node[:32]:<32} {text}")


if __name__ == "__main__":
    main()
