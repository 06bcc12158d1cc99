"""Crash soak: `flowmart run` on the sample organisation, killed with SIGKILL at random moments; after each kill,
a plain `flowmart run` must end with marts identical to those of a clean run. Not part of `make test` (a test
runs two kill points of it); nothing is written inside the project:

    .venv/bin/python scripts/crash_soak.py --kills 10 [--scale 0.05] [--seed 1] [--workdir /tmp/flowmart-soak]

1. The sample is generated; a clean run into a warehouse of its own gives the reference marts and the run's
   duration.
2. Each kill: `flowmart run` (every other one with `--full-refresh`) on a second warehouse, killed with SIGKILL
   after a random time between 0.5 s and the clean run's duration; then a plain `flowmart run`, whose marts
   are compared with the reference, table by table, row by row (floats to 9 significant digits). The
   warehouse carries over from one kill to the next, as a user's would.

Every run uses the same sample (scale, anchor day), pseudonym salt and reporting clock (FLOWMART_NOW), so
clean marts are reproducible. Prints one line per kill; exits 1 when a recovery run failed or its marts differ.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

FLOWMART = str(Path(sys.executable).with_name("flowmart"))
ANCHOR = "2026-10-01"
NOW = "2026-10-02 00:00:00"


class Soak:
    def __init__(self, workdir: Path, scale: float) -> None:
        self.workdir = workdir
        self.scale = scale
        self.sample = workdir / "sample"

    def _command(self, *args: str) -> list[str]:
        return [FLOWMART, "run", "--sample", "--scale", str(self.scale), "--anchor", ANCHOR,
                "--sample-dir", str(self.sample), *args]

    def _env(self, folder: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "FLOWMART_"))}
        return env | {"FLOWMART_DUCKDB_PATH": str(folder / "warehouse" / "flowmart.duckdb"),
                      "FLOWMART__PSEUDONYM_SALT": "crash-soak", "FLOWMART_NOW": NOW,
                      "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def run(self, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
        folder.mkdir(parents=True, exist_ok=True)
        return subprocess.run(self._command(*args), cwd=folder, env=self._env(folder), capture_output=True,
                              text=True, timeout=1800)

    def killed_run(self, folder: Path, after: float, *args: str) -> str:
        """Start `flowmart run`, SIGKILL it after `after` seconds; returns the last line it printed."""
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "killed.log"
        with log.open("w") as out:
            process = subprocess.Popen(self._command(*args), cwd=folder, env=self._env(folder), stdout=out,
                                       stderr=subprocess.STDOUT, text=True)
            try:
                process.wait(timeout=after)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        ended = "killed" if process.returncode == -signal.SIGKILL else f"ended ({process.returncode}) first"
        return f"{ended}; last line: {lines[-1][:100] if lines else '-'}"

    def clean(self) -> tuple[dict[str, list[str]], float]:
        """The reference marts and the clean run's duration (the sample generated before, as for later runs)."""
        from orchestration.runner import ensure_sample

        ensure_sample(self.sample, self.scale, date.fromisoformat(ANCHOR))
        folder = self.workdir / "clean"
        started = time.perf_counter()
        result = self.run(folder)
        if result.returncode != 0:
            raise SystemExit(f"the clean run failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        return marts(folder / "warehouse" / "flowmart.duckdb"), time.perf_counter() - started

    def kill_and_recover(self, index: int, after: float, reference: dict[str, list[str]]) -> tuple[bool, str]:
        """One kill point: (the recovery run's marts equal the reference, what happened)."""
        folder = self.workdir / "crashed"
        args = ("--full-refresh",) if index % 2 else ()
        killed = self.killed_run(folder, after, *args)
        recovery = self.run(folder)
        if recovery.returncode != 0:
            return False, (f"{killed}; the plain run after it failed ({recovery.returncode}): "
                           f"{(recovery.stderr.strip().splitlines() or ['-'])[-1]}")
        differences = diff(reference, marts(folder / "warehouse" / "flowmart.duckdb"))
        return not differences, f"{killed}; " + ("marts identical" if not differences else
                                                  "marts differ: " + "; ".join(differences[:5]))


def _normalised(value: object) -> object:
    return float(f"{value:.9g}") if isinstance(value, float) else value


def marts(db: Path) -> dict[str, list[str]]:
    """Every row of every table of schema `marts` (as text), sorted."""
    import duckdb

    conn = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in conn.execute("select table_name from information_schema.tables "
                                             "where table_schema = 'marts' order by 1").fetchall()]
        return {t: sorted(repr(tuple(_normalised(v) for v in row))
                          for row in conn.execute(f'select * from marts."{t}"').fetchall()) for t in tables}
    finally:
        conn.close()


def diff(reference: dict[str, list[str]], found: dict[str, list[str]]) -> list[str]:
    out = [f"{t}: missing" for t in reference if t not in found]
    out += [f"{t}: {len(found[t])} rows, {sum(r not in set(reference[t]) for r in found[t])} not in the clean run's "
            f"{len(reference[t])}" for t in reference if t in found and found[t] != reference[t]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/flowmart-soak"))
    args = parser.parse_args(argv)
    soak = Soak(args.workdir.resolve(), args.scale)
    reference, seconds = soak.clean()
    print(f"clean run: {seconds:.1f} s, {len(reference)} marts, {sum(map(len, reference.values())):,} rows",
          flush=True)
    rng = random.Random(args.seed)
    failed = ended_first = 0
    for index in range(args.kills):
        after = round(rng.uniform(0.5, seconds), 2)
        ok, what = soak.kill_and_recover(index, after, reference)
        failed += not ok
        ended_first += what.startswith("ended")
        kind = "run --full-refresh" if index % 2 else "run"
        print(f"kill {index + 1}: {kind} killed after {after} s: {what}", flush=True)
    print(f"{args.kills - failed} of {args.kills} kill points recovered to the clean run's marts"
          + (f" ({ended_first} of the runs ended before their kill moment)" if ended_first else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
