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
        if not table.startswith("_dlt") and not schema.endswith("_staging"):  # dlt's merge staging area
            counts[f"{schema}.{table}"] = int(wh.scalar(f'select count(*) from {schema}."{table}"'))
    return counts


# metric -> candidates (schema, relation, SQL returning value_stream -> value for the month [start, end));
# the first relation that exists answers, so richer marts take over from simpler fallbacks.
HEADLINES: dict[str, list[tuple[str, str, str]]] = {
    "items completed": [
        ("marts", "flow_metrics_by_value_stream",
         "select value_stream, items_completed from marts.flow_metrics_by_value_stream "
         "where grain = 'month' and period_start = {start_date}"),
        ("intermediate", "int_work_items_owned",
         "select value_stream, count(*) from intermediate.int_work_items_owned "
         "where item_role in ('work_item', 'incident') and status_category = 'done' and resolved_at >= {start} "
         "and resolved_at < {end} and coalesce(resolution, '') not in "
         "(select resolution from staging.stg_org__canceled_resolutions) group by value_stream"),
    ],
    "median flow time (days)": [
        ("marts", "flow_metrics_by_value_stream",
         "select value_stream, flow_time_p50_days from marts.flow_metrics_by_value_stream "
         "where grain = 'month' and period_start = {start_date}"),
    ],
    "deployments": [
        ("staging", "stg_github__deployments",
         "select teams.value_stream, count(*) from staging.stg_github__deployments as d "
         "inner join staging.stg_org__git_ownership_rules as o on o.repository = d.repository "
         "inner join staging.stg_org__teams as teams on teams.team = o.team "
         "where d.is_production and d.final_state = 'success' and d.final_state_at >= {start} "
         "and d.final_state_at < {end} group by teams.value_stream"),
    ],
}


def headlines(wh: Warehouse, start: date, end: date) -> dict[str, dict[str, Any]]:
    """value stream -> metric -> value (None when no model answers yet)."""
    streams = [r[0] for r in wh.rows("select value_stream from staging.stg_org__value_streams order by 1")]
    out: dict[str, dict[str, Any]] = {s: {} for s in streams}
    for metric, candidates in HEADLINES.items():
        for schema, relation, sql in candidates:
            if wh.exists(schema, relation):
                query = sql.format(start=f"cast('{start}' as timestamp)", end=f"cast('{end}' as timestamp)",
                                   start_date=f"cast('{start}' as date)")
                values = {k: (float(v) if v is not None and metric.startswith("median") else v)
                          for k, v in wh.rows(query)}
                for s in streams:
                    out[s][metric] = values.get(s, None if metric.startswith("median") else 0)
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
