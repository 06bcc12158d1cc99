"""The benchmark harness end to end on a tiny sample: records written, and the hand-written SQL floor gives the
marts' team-month flow figures (the harness's own check), which a changed figure makes fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import harness

pytestmark = pytest.mark.slow


def test_harness_writes_a_record_per_step_and_its_floor_equals_the_marts(tmp_path: Path):
    out = tmp_path / "records.jsonl"
    # the build of the floor's mart and what it reads: the whole build is `flowmart build`'s own tests' job
    harness.main(["--scale", "0.05", "--workdir", str(tmp_path / "work"), "--sources", "jira", "--out", str(out),
                  "--select", "+flow_metrics_by_team"])

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["step"] for r in records] == ["generate", "load org", "load jira", "jira pages fetch", "jira read_json",
                                            "build", "flow SQL floor"]
    for r in records:
        assert r["scale"] == 0.05 and r["rows"] > 0 and r["wall_s"] > 0 and r["peak_mb"] > 0, r
        assert r["cpu_s"] >= 0 and r["sources"] == "org,jira", r
    assert {r["step"]: r.get("floor_of") for r in records if r.get("floor_of")} == {
        "jira pages fetch": "load jira", "jira read_json": "load jira", "flow SQL floor": "build"}

    # the check compares every figure: one changed figure of the floor fails it
    work = tmp_path / "work"
    floor = json.loads((work / "floor.json").read_text())
    assert harness.check_floor(work / "warehouse.duckdb", floor) == len(floor)
    completed = next(row for row in floor if row["items_completed"])
    completed["flow_time_p85_days"] *= 1.001
    with pytest.raises(harness.FloorMismatch, match="flow_time_p85_days"):
        harness.check_floor(work / "warehouse.duckdb", floor)
