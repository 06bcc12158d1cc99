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
}

# The delivery section: DORA figures per value stream for the month, read from the delivery mart only.
DELIVERY_SQL = (
    "select value_stream, deployments, deployment_days_per_week_p50, deployment_frequency_band, "
    "change_lead_time_p50_hours, change_lead_time_p85_hours, change_lead_time_band, change_fail_rate_pct "
    "from marts.delivery_metrics_by_value_stream where grain = 'month' and period_start = {start_date} "
    "order by value_stream"
)


def delivery(wh: Warehouse, start: date) -> list[str]:
    """One line per value stream: deployment frequency and change lead time of the month (the delivery mart)."""
    if not wh.exists("marts", "delivery_metrics_by_value_stream"):
        return []

    def num(value: Any, unit: str = "") -> str:
        return "n/a" if value is None else f"{float(value):.1f}{unit}"

    lines = []
    for stream, deployments, days, days_band, p50, p85, lead_band, fail_pct in wh.rows(
            DELIVERY_SQL.format(start_date=f"cast('{start}' as date)")):
        lines.append(
            f"  {stream:<20} deployments {deployments}, deploy-days/week {num(days)} ({days_band or 'n/a'}), "
            f"change lead time p50 {num(p50, ' h')} / p85 {num(p85, ' h')} ({lead_band or 'n/a'}), "
            f"change fail rate {num(fail_pct, ' %')}"
        )
    return lines


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
        delivery_lines = delivery(wh, start)
        if delivery_lines:
            lines.append(f"Delivery ({start:%B %Y}), per value stream:")
            lines += delivery_lines
    if report.timings:
        lines.append("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items()))
    return "\n".join(lines)
