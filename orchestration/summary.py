"""The short summary that ends `flowmart run`: rows per non-empty raw table, what dbt built and tested, the
statuses the org config does not map yet, one headline per value stream for the last complete month (from
the marts), the outcome alignment and the value stream map (rolled %C&A, activity ratio, bottleneck) per
value stream for the last complete quarter, the last survey wave's eNPS and lowest dimension per value
stream, and where the logs are."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import yaml

from orchestration.warehouse import Warehouse
from pipelines.orgconfig import CATEGORY_FLOW_STATE


def last_complete_month(today: date | None = None) -> tuple[date, date]:
    today = today or datetime.now(UTC).date()
    end = today.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    return start, end


def last_complete_quarter(today: date | None = None) -> date:
    """The first day of the last quarter that is over: epics need a quarter to be counted fairly (an epic
    completed last month is often still inside the closing-the-loop grace period)."""
    today = today or datetime.now(UTC).date()
    this_quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    previous = this_quarter - timedelta(days=1)
    return date(previous.year, (previous.month - 1) // 3 * 3 + 1, 1)


def raw_table_lines(counts: dict[str, int], width: int = 110) -> list[str]:
    """One line per raw schema (`  raw_jira: issues 15,029, changelog_items 90,946, ...`), wrapped at `width`."""
    schemas: dict[str, list[str]] = {}
    for name, n in counts.items():
        schema, table = name.split(".", 1)
        schemas.setdefault(schema, []).append(f"{table} {n:,}")
    lines = []
    for schema, parts in schemas.items():
        line = f"  {schema}:"
        for i, part in enumerate(parts):
            piece = f" {part}" + ("," if i < len(parts) - 1 else "")
            if len(line) + len(piece) > width:
                lines.append(line)
                line = "   "
            line += piece
        lines.append(line)
    return lines


def raw_row_counts(wh: Warehouse) -> dict[str, int]:
    counts = {}
    for schema, table in wh.tables("raw_"):
        if not table.startswith("_dlt") and not schema.endswith("_staging"):  # dlt's merge staging area
            counts[f"{schema}.{table}"] = int(wh.scalar(f"select count(*) from {schema}.{wh.quote(table)}"))
    return counts


# metric -> (mart, SQL returning value_stream -> value for the month starting {start_date}). Marts only: what
# the summary shows, a BI tool reading the marts shows too.
HEADLINES: dict[str, tuple[str, str]] = {
    "items completed": (
        "flow_metrics_by_value_stream",
        "select value_stream, items_completed from marts.flow_metrics_by_value_stream "
        "where grain = 'month' and period_start = {start_date}"),
    "median flow time (days)": (
        "flow_metrics_by_value_stream",
        "select value_stream, flow_time_p50_days from marts.flow_metrics_by_value_stream "
        "where grain = 'month' and period_start = {start_date}"),
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


# The outcomes section: Feature Factory Ratio and closing the loop per value stream for the quarter, from the
# outcome mart only.
OUTCOMES_SQL = (
    "select value_stream, feature_factory_ratio_pct, epics_in_scope, closing_the_loop_rate_pct, "
    "epics_with_loop_closed, epics_due_for_outcome, outcome_lag_p50_days, okr_linkage_pct "
    "from marts.outcome_metrics_by_value_stream where grain = 'quarter' and period_start = {start_date} "
    "order by value_stream"
)


def outcomes(wh: Warehouse, start: date) -> list[str]:
    """One line per value stream: Feature Factory Ratio and closing the loop of the quarter (the outcome mart)."""
    if not wh.exists("marts", "outcome_metrics_by_value_stream"):
        return []

    def pct(value: Any) -> str:
        return "n/a" if value is None else f"{float(value):.0f} %"

    lines = []
    for stream, ffr, in_scope, closing, closed, due, lag, linkage in wh.rows(
            OUTCOMES_SQL.format(start_date=f"cast('{start}' as date)")):
        median_lag = "n/a" if lag is None else f"{float(lag):.0f} days"
        lines.append(
            f"  {stream:<20} Feature Factory Ratio {pct(ffr)} of {in_scope} epics, "
            f"closing the loop {pct(closing)} ({closed} of {due} due), median lag to the outcome {median_lag}, "
            f"OKR linkage {pct(linkage)}"
        )
    return lines


# The value stream map section: the ladder's rolled % complete and accurate, activity ratio and bottleneck per
# value stream for the quarter, from the value stream map mart only.
VALUE_STREAM_MAP_SQL = (
    "select value_stream, rolled_complete_and_accurate_pct, activity_ratio_pct, total_process_time_days, "
    "total_lead_time_days, bottleneck_step, bottleneck_waiting_share_pct, order_source "
    "from marts.value_stream_map_by_value_stream where grain = 'quarter' and period_start = {start_date} "
    "order by value_stream"
)


def value_stream_map(wh: Warehouse, start: date) -> list[str]:
    """One line per value stream: rolled %C&A, activity ratio and bottleneck of the quarter (the map's mart)."""
    if not wh.exists("marts", "value_stream_map_by_value_stream"):
        return []

    def num(value: Any, unit: str = "", digits: int = 0) -> str:
        return "n/a" if value is None else f"{float(value):.{digits}f}{unit}"

    lines = []
    for stream, rolled, ratio, process, lead, bottleneck, share, source in wh.rows(
            VALUE_STREAM_MAP_SQL.format(start_date=f"cast('{start}' as date)")):
        where = "none" if bottleneck is None else f"{bottleneck} ({num(share, ' %')} of the waiting)"
        lines.append(
            f"  {stream:<20} rolled %C&A {num(rolled, ' %')}, activity ratio {num(ratio, ' %')} "
            f"({num(process, ' d', 1)} process of {num(lead, ' d', 1)} lead time), bottleneck {where}, "
            f"{source or 'no'} steps"
        )
    return lines


# The sentiment section: per value stream, the last survey wave's eNPS and its least favourable dimension,
# read from the sentiment mart only (suppressed figures are null there and show as "suppressed").
LAST_WAVE_SQL = (
    "select max(wave) from marts.value_stream_sentiment "
    "where wave_start = (select max(wave_start) from marts.value_stream_sentiment)"
)
SENTIMENT_SQL = (
    "select value_stream, dimension, enps, favourable_pct, is_suppressed from marts.value_stream_sentiment "
    f"where wave = ({LAST_WAVE_SQL}) order by value_stream, dimension"
)


def sentiment(wh: Warehouse) -> tuple[str | None, list[str]]:
    """(last wave, one line per value stream: eNPS and the lowest % favourable dimension of that wave)."""
    if not wh.exists("marts", "value_stream_sentiment"):
        return None, []
    wave = wh.scalar(LAST_WAVE_SQL)
    streams: dict[str, dict[str, Any]] = {}
    for stream, dimension, enps, favourable, suppressed in wh.rows(SENTIMENT_SQL):
        entry = streams.setdefault(stream, {"enps": None, "suppressed": False, "lowest": None})
        if enps is not None:
            entry["enps"] = float(enps)
        entry["suppressed"] |= bool(suppressed) and dimension == "enps"
        if favourable is not None and (entry["lowest"] is None or float(favourable) < entry["lowest"][1]):
            entry["lowest"] = (dimension, float(favourable))
    lines = []
    for stream, entry in streams.items():
        enps = "suppressed" if entry["suppressed"] else ("n/a" if entry["enps"] is None else f"{entry['enps']:+.0f}")
        lowest = "n/a" if entry["lowest"] is None else f"{entry['lowest'][0]} {entry['lowest'][1]:.0f} % favourable"
        lines.append(f"  {stream:<20} eNPS {enps}, lowest dimension {lowest}")
    return wave, lines


def headlines(wh: Warehouse, start: date) -> dict[str, dict[str, Any]]:
    """value stream -> metric -> value (None where the mart has no figure), for the streams of the marts."""
    values: dict[str, dict[str, Any]] = {}
    for metric, (mart, sql) in HEADLINES.items():
        if wh.exists("marts", mart):
            values[metric] = dict(wh.rows(sql.format(start_date=f"cast('{start}' as date)")))
    streams = sorted({stream for by_stream in values.values() for stream in by_stream})
    return {s: {metric: values.get(metric, {}).get(s) for metric in HEADLINES} for s in streams}


def unmapped_statuses(wh: Warehouse) -> list[tuple[str, str, str]]:
    """(project, status, flow state its Jira category gives it) of every status the landed issues are or
    were in that the org config's jira.status_mapping does not map (for the project or '*', any case):
    what dbt's warning assert_every_status_is_mapped counts. Read from the raw tables."""
    if not all(wh.exists("raw_jira", t) for t in ("issues", "changelog_items", "statuses")):
        return []
    mapped = ("and not exists (select 1 from raw_org.status_mappings as m where m.project in (seen.project_key, '*') "
              "and lower(m.status) = lower(coalesce(s.name, seen.status_name)))"
              if wh.exists("raw_org", "status_mappings") else "")
    rows = wh.rows(f"""
        with seen as (
            select project_key, status_id, status as status_name from raw_jira.issues
            union
            select i.project_key, c.to_value, c.to_string from raw_jira.changelog_items as c
            inner join raw_jira.issues as i on i.id = c.issue_id where c.field = 'status'
            union
            select i.project_key, c.from_value, c.from_string from raw_jira.changelog_items as c
            inner join raw_jira.issues as i on i.id = c.issue_id where c.field = 'status'
        )
        select distinct seen.project_key, coalesce(s.name, seen.status_name), coalesce(s.category, 'indeterminate')
        from seen left join raw_jira.statuses as s on s.id = seen.status_id
        where seen.status_id is not null {mapped}
        order by 1, 2""")
    return [(project, status, CATEGORY_FLOW_STATE.get(category, "active")) for project, status, category in rows]


def status_mapping_lines(unmapped: list[tuple[str, str, str]], limit: int = 12) -> list[str]:
    """The org config lines that would map the statuses: under '*' a status unmapped in several projects,
    else under its project; the flow state its category gives it now, to review."""
    projects: dict[str, set[str]] = {}
    states: dict[str, str] = {}
    for project, status, state in unmapped:
        projects.setdefault(status, set()).add(project)
        states[status] = state
    mapping: dict[str, dict[str, str]] = {}
    for status in sorted(projects)[:limit]:
        key = "*" if len(projects[status]) > 1 else next(iter(projects[status]))
        mapping.setdefault(key, {})[status] = states[status]
    lines = ["jira:", "  status_mapping:"] + [
        "    " + line for line in yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True).splitlines()]
    if len(projects) > limit:
        lines.append(f"    # ... and {len(projects) - limit} more")
    return lines


def render(report: Any, target: str, warned: list[str] | tuple[str, ...] = ()) -> str:
    from orchestration.console import log_dir

    lines = ["", "flowmart run summary", "===================="]
    with Warehouse(target) as wh:
        counts = {name: n for name, n in raw_row_counts(wh).items() if n}
        lines.append("Rows in the raw tables (the empty ones left out):")
        lines += raw_table_lines(counts)
        d = report.dbt
        which = f" ({', '.join(warned)})" if warned else ""
        lines.append(
            f"dbt: {d.get('models', 0)} models built, {d.get('tests_passed', 0)} tests passed, "
            f"{d.get('tests_warned', 0)} warned{which}, {d.get('tests_failed', 0)} failed"
        )
        unmapped = unmapped_statuses(wh)
        if unmapped:
            statuses = sorted({u[1] for u in unmapped})
            named = ", ".join(statuses[:12]) + (f" and {len(statuses) - 12} more" if len(statuses) > 12 else "")
            lines.append(f"Not in the org config's status mapping, so their Jira category decides their flow state "
                         f"(dbt's warning assert_every_status_is_mapped): {named}. These org config "
                         "lines would map them (review the states: backlog, active, waiting or done):")
            lines += ["  " + line for line in status_mapping_lines(unmapped)]
        start, _end = last_complete_month()
        figures = headlines(wh, start)
        lines.append(f"Last complete month ({start:%B %Y}), per value stream:" + ("" if figures else " no figures"))
        for stream, metrics in figures.items():
            parts = []
            for metric, value in metrics.items():
                shown = "n/a" if value is None else (f"{value}" if isinstance(value, int) else f"{float(value):.1f}")
                parts.append(f"{metric} {shown}")
            lines.append(f"  {stream:<20} " + ", ".join(parts))
        delivery_lines = delivery(wh, start)
        if delivery_lines:
            lines.append(f"Delivery ({start:%B %Y}), per value stream:")
            lines += delivery_lines
        quarter = last_complete_quarter()
        outcome_lines = outcomes(wh, quarter)
        if outcome_lines:
            lines.append(f"Outcomes ({quarter.year} Q{(quarter.month - 1) // 3 + 1}; lower FFR is better), "
                         "per value stream:")
            lines += outcome_lines
        map_lines = value_stream_map(wh, quarter)
        if map_lines:
            lines.append(f"Value stream map ({quarter.year} Q{(quarter.month - 1) // 3 + 1}), per value stream:")
            lines += map_lines
        wave, sentiment_lines = sentiment(wh)
        if sentiment_lines:
            lines.append(f"Sentiment (survey wave {wave}), per value stream:")
            lines += sentiment_lines
    skipped = getattr(report, "skipped", [])
    if skipped:
        lines.append(f"Skipped, the rest landed ({len(skipped)}; exit code 3 unless something failed):")
        lines += [f"  {line}" for line in skipped]
    if report.timings:
        lines.append("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items()))
    lines.append(f"Logs: {log_dir() / 'dbt.log'} (dbt), {log_dir() / 'flowmart.log'} (loaders)")
    return "\n".join(lines)
