"""The short summary that ends `flowmart run`: rows per raw table, what dbt built and tested, and one
headline per value stream for the last complete month."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from orchestration.warehouse import Warehouse


def last_complete_month(today: date | None = None) -> tuple[date, date]:
    today = today or datetime.now(UTC).date()
    end = today.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    return start, end


def raw_row_counts(wh: Warehouse) -> dict[str, int]:
    counts = {}
    for schema, table in wh.tables("raw_"):
        if not table.startswith("_dlt"):
            counts[f"{schema}.{table}"] = int(wh.scalar(f'select count(*) from {schema}."{table}"'))
    return counts


# (relation, SQL returning value_stream -> value for the month [start, end)); the first relation that
# exists answers. Later marts take over from the simpler fallbacks.
HEADLINES: dict[str, list[tuple[str, str, str]]] = {
    "items completed": [
        ("intermediate", "int_work_items_owned",
         "select value_stream, count(*) from intermediate.int_work_items_owned "
         "where item_role in ('work_item', 'incident') and status_category = 'done' and resolved_at >= {start} "
         "and resolved_at < {end} and coalesce(resolution, '') not in "
         "(select resolution from staging.stg_org__canceled_resolutions) group by value_stream"),
    ],
    "median flow time (days)": [
        ("marts", "flow_items_completed",
         "select value_stream, {median} / 24.0 from marts.flow_items_completed "
         "where completed_at >= {start} and completed_at < {end} group by value_stream"),
    ],
    "deployments": [
        ("marts", "deployments",
         "select value_stream, count(*) from marts.deployments where is_production and is_successful "
         "and finished_at >= {start} and finished_at < {end} group by value_stream"),
    ],
}


def headlines(wh: Warehouse, start: date, end: date) -> dict[str, dict[str, Any]]:
    """value stream -> metric -> value (None when no model answers yet)."""
    streams = [r[0] for r in wh.rows("select value_stream from staging.stg_org__value_streams order by 1")]
    out: dict[str, dict[str, Any]] = {s: {} for s in streams}
    median = ("median(flow_time_hours)" if wh.target == "duckdb"
              else "percentile_cont(0.5) within group (order by flow_time_hours)")
    for metric, candidates in HEADLINES.items():
        for schema, relation, sql in candidates:
            if wh.exists(schema, relation):
                query = sql.format(start=f"cast('{start}' as timestamp)", end=f"cast('{end}' as timestamp)",
                                   median=median)
                values = dict(wh.rows(query))
                for s in streams:
                    out[s][metric] = values.get(s, 0 if metric != "median flow time (days)" else None)
                break
        else:
            for s in streams:
                out[s][metric] = None
    return out


def render(report: Any, target: str) -> str:
    lines = ["", "flowmart run summary", "===================="]
    with Warehouse(target) as wh:
        counts = raw_row_counts(wh)
        lines.append("Rows in the raw tables:")
        for name, n in counts.items():
            lines.append(f"  {name:<45} {n:>10,}")
        d = report.dbt
        lines.append(
            f"dbt: {d.get('models', 0)} models built, {d.get('tests_passed', 0)} tests passed, "
            f"{d.get('tests_warned', 0)} warned, {d.get('tests_failed', 0)} failed"
        )
        start, end = last_complete_month()
        lines.append(f"Last complete month ({start:%B %Y}), per value stream:")
        for stream, metrics in headlines(wh, start, end).items():
            parts = []
            for metric, value in metrics.items():
                shown = "n/a" if value is None else (f"{value:.1f}" if isinstance(value, float) else f"{value}")
                parts.append(f"{metric} {shown}")
            lines.append(f"  {stream:<20} " + ", ".join(parts))
    if report.timings:
        lines.append("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items()))
    return "\n".join(lines)
