"""Benchmark of the survey loader's memory: peak RSS of loading one large wide export with unknown columns.

Writes a wide CSV export (respondent, submitted_at, team, the catalogue questions, then `--unknown-columns`
columns that are not in the catalogue, every cell filled) of about `--mb` megabytes, loads it into a
fresh DuckDB file in a separate process and reports that process's peak memory (resource.getrusage
ru_maxrss) next to its memory after the imports. Not part of `make test`. Nothing is written inside
the project:

    .venv/bin/python -m benchmarks.survey_load --mb 50 --workdir /tmp/flowmart-survey-bench

The issue's case (a 223 KB export, 30 unknown columns x 2,000 respondents): `--respondents 2000`.

Measured on a shared 2-core machine (peak ru_maxrss of the loading process; 88 MB after the imports):

- 223 KB, 2,000 respondents x 30 unknown columns: before 2,711 MB (60,000 quarantine rows, one per
  value), after 240 MB (30 rows); with 0 or 300 unknown columns: 243 / 239 MB.
- 48.5 MB, 8,000 respondents x 3,000 unknown columns: after 277 MB (3,000 quarantine rows; before: 24 M
  rows, not measurable).
- 50 MB (the default), 419,891 respondents x 30 unknown columns, 1.68 M accepted answers: after 732 MB
  (30 quarantine rows; before: 12.6 M rows, not measurable).

Memory no longer depends on the rejected values; it grows with the accepted answers only: the index of
submissions kept for duplicate detection (about 0.5 KB per respondent) and DuckDB's work while it
merges the answers into `responses` (the answers themselves wait in a temporary file).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

QUESTIONS = [
    {"id": "focus", "text": "I have enough time for focused work.", "dimension": "deep_work"},
    {"id": "waiting", "text": "I often wait on other teams to ship.", "dimension": "ease_of_release",
     "reverse_scored": True},
    {"id": "ai_used", "text": "I used AI assistants last month.", "dimension": "ai_usage", "scale": "yes_no"},
    {"id": "enps", "text": "Would you recommend your team?", "dimension": "enps", "scale": "scale_0_10"},
]
TEAMS = ["alpha", "beta", "gamma", "delta"]


def write_export(path: Path, megabytes: float | None, respondents: int | None, unknown: int, seed: int = 7) -> int:
    """Write the export; returns the number of respondents written."""
    rnd = random.Random(seed)
    header = ["respondent", "submitted_at", "team", *(q["id"] for q in QUESTIONS),
              *(f"extra question {i}" for i in range(1, unknown + 1))]
    limit = None if respondents else int((megabytes or 50) * 1_000_000)
    written = size = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        line = ",".join(header) + "\n"
        out.write(line)
        size += len(line)
        while (respondents and written < respondents) or (limit and size < limit):
            written += 1
            cells = [f"person{written}@bench.example", f"2025-08-{1 + written % 28:02d} 09:{written % 60:02d}",
                     TEAMS[written % len(TEAMS)], str(rnd.randint(1, 5)), str(rnd.randint(1, 5)),
                     rnd.choice(["yes", "no"]), str(rnd.randint(0, 10))]
            cells += [str(rnd.randint(1, 5)) for _ in range(unknown)]
            line = ",".join(cells) + "\n"
            out.write(line)
            size += len(line)
    return written


def measure(workdir: Path) -> dict:
    """In this (fresh) process: import, then load the export; memory figures in MB."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    os.environ["FLOWMART_DUCKDB_PATH"] = str(workdir / "wh.duckdb")
    os.environ["FLOWMART_PIPELINES_DIR"] = str(workdir / "dlt")
    os.environ.setdefault("FLOWMART__PSEUDONYM_SALT", "bench-salt")
    os.chdir(workdir)
    from pipelines import survey
    from pipelines.orgconfig import parse_org_config

    org = parse_org_config({
        "value_streams": [{"name": "Core"}],
        "teams": [{"name": t, "value_stream": "Core"} for t in TEAMS],
        "surveys": {"folder": "surveys", "questions": QUESTIONS},
    })
    after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    counts = survey.load(org, workdir)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    import duckdb

    with duckdb.connect(str(workdir / "wh.duckdb"), read_only=True) as con:
        quarantine_rows = con.execute("select count(*) from raw_survey.quarantine").fetchone()[0]
    return {"peak_mb": round(peak, 1), "after_imports_mb": round(after_imports, 1), "seconds": round(seconds, 1),
            "counts": dict(counts), "quarantine_rows": quarantine_rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the export (default 50 MB)")
    parser.add_argument("--respondents", type=int, help="write this many respondents instead of --mb")
    parser.add_argument("--unknown-columns", type=int, default=30, help="columns not in the catalogue (default 30)")
    parser.add_argument("--workdir", default="/tmp/flowmart-survey-bench")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    workdir = Path(args.workdir).resolve()
    if args.measure:
        print(json.dumps(measure(workdir)))
        return
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "surveys").mkdir(parents=True)
    export = workdir / "surveys" / "devex-2025-Q3.csv"
    respondents = write_export(export, args.mb, args.respondents, args.unknown_columns)
    size_mb = export.stat().st_size / 1_000_000
    print(f"export: {export} ({size_mb:.1f} MB, {respondents:,} respondents, {len(QUESTIONS)} catalogue "
          f"questions, {args.unknown_columns} unknown columns)")
    root = Path(__file__).resolve().parent.parent
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.survey_load", "--measure", "--workdir", str(workdir)],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, check=False,
    )
    if child.returncode != 0:
        print(child.stdout, child.stderr, sep="\n")
        raise SystemExit(f"the load failed (exit {child.returncode})")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"load: {result['seconds']} s; counts {result['counts']}; quarantine rows {result['quarantine_rows']:,}")
    print(f"peak memory (ru_maxrss): {result['peak_mb']:,.0f} MB "
          f"(after imports, before the load: {result['after_imports_mb']:,.0f} MB)")


if __name__ == "__main__":
    main()
