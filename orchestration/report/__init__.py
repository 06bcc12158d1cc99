"""`flowmart report`: one self-contained HTML file, `warehouse/report/index.html`, drawn from the marts only.

Every chart's SQL is a file in `queries/` (the same questions a BI tool asks: the README's "Connect Metabase"
lists them); this module runs them, turns the rows into Plotly figures and writes them, with Plotly's JavaScript
inlined, into `page.html`. The file opens offline. Pages: one per value stream (flow, its value stream map as a
lead-time ladder, delivery, pull requests, outcome alignment, sentiment) and one per team (its metrics beside its
own baseline, where its work waits, its aging work in progress, how it feels). Suppressed survey cells are shown
as suppressed. No chart ranks teams and no figure names a person. A section whose marts are empty says what to
configure.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.warehouse import Warehouse

HERE = Path(__file__).resolve().parent
QUERIES = HERE / "queries"
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
TYPE_COLOURS = {"feature": "#2ca02c", "defect": "#d62728", "debt": "#9467bd", "risk": "#ff7f0e"}
CONFIGURE = {
    "flow": "No completed work in the marts yet. Configure Jira (`jira` in flowmart.yml, `SOURCES__JIRA__*`) and "
            "map its statuses (`jira.status_mapping`); see the README, \"Point it at your own systems\".",
    "delivery": "No production deployments in the marts yet. Configure GitHub (`github.repositories`), local Git "
                "repositories with a deploy tag pattern (`git.repositories`) or a delivery-events file "
                "(`delivery`); see the README, \"Point it at your own systems\".",
    "pull_requests": "No merged pull requests in the marts yet. Configure GitHub (`github.repositories` and "
                     "`SOURCES__GITHUB__ACCESS_TOKEN`).",
    "outcomes": "No epics in scope yet. Outcome alignment reads the epics' outcome fields and the OKR catalogue: "
                "configure `outcomes` and `okrs` in flowmart.yml (see flowmart.example.yml).",
    "sentiment": "No survey wave in the marts yet. Configure the survey exports folder (`surveys` in flowmart.yml).",
    "team_sentiment": "No survey answers from this team in the last wave.",
    "baselines": "No complete month with a baseline yet: baselines need a full month of data after the first.",
    "waiting": "No complete quarter with waiting time yet.",
    "aging": "No work in progress for this team.",
    "value_stream_map": "No step of this value stream passed work on in the last complete quarter. Its steps are "
                        "`value_streams[].steps` in flowmart.yml, or inferred from the status history.",
}


def queries() -> dict[str, str]:
    """The report's questions: name -> SQL, one file each."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(QUERIES.glob("*.sql"))}


def describe(sql: str) -> dict[str, str]:
    """The `-- key: value` header of a query file (question, table(s), filters, units); continuation lines
    start with `--   `."""
    header: dict[str, str] = {}
    key = None
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        text = line[2:]
        match = re.match(r" (\w+): (.*)", text)
        if match:
            key = {"tables": "table"}.get(match.group(1), match.group(1))
            header[key] = match.group(2).strip()
        elif key and text.startswith("   "):
            header[key] += " " + text.strip()
    return header


def tables_read(sql: str) -> list[str]:
    """The marts a query reads (`marts.<name>`)."""
    return sorted(set(re.findall(r"\bmarts\.(\w+)", sql)))


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return value


def fetch(wh: Warehouse, sql: str) -> list[dict[str, Any]]:
    """The query's rows as dicts; no rows when a mart it reads is not built in this warehouse."""
    if not all(wh.exists("marts", table) for table in tables_read(sql)):
        return []
    names, rows = wh.records(sql)
    return [dict(zip(names, (_value(v) for v in row), strict=True)) for row in rows]


# --- figures -------------------------------------------------------------------------------------------


def _layout(title: str, unit: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title, "font": {"size": 15}}, "height": 300, "margin": {"l": 55, "r": 20, "t": 45,
            "b": 40}, "yaxis": {"title": {"text": unit}, "rangemode": "tozero"}, "xaxis": {"type": "date"},
            "legend": {"orientation": "h", "y": -0.2}, "hovermode": "x unified", **extra}


def line_chart(title: str, unit: str, rows: list[dict[str, Any]], series: list[tuple[str, str]]) -> dict[str, Any]:
    """One line per (label, column) over `period_start`; a month still in progress is drawn dotted, apart."""
    data = []
    for i, (label, column) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        x = [r["period_start"] for r in rows]
        data.append({"type": "scatter", "mode": "lines+markers", "name": label, "x": x, "line": {"color": colour},
                     "y": [r[column] if r["is_period_complete"] else None for r in rows]})
        partial = [i for i, r in enumerate(rows) if not r["is_period_complete"]]
        if partial:
            keep = [i for i in range(max(0, partial[0] - 1), len(rows))]
            data.append({"type": "scatter", "mode": "lines+markers", "name": f"{label} (in progress)",
                         "x": [x[i] for i in keep], "y": [rows[i][column] for i in keep], "showlegend": False,
                         "line": {"color": colour, "dash": "dot"}, "marker": {"symbol": "circle-open"}})
    return {"kind": "chart", "data": data, "layout": _layout(title, unit)}


def bar_chart(title: str, unit: str, rows: list[dict[str, Any]], series: list[tuple[str, str, str]],
              stacked: bool = False) -> dict[str, Any]:
    """Bars per (label, column, colour) over `period_start`; a month still in progress is drawn pale."""
    opacity = [1.0 if r["is_period_complete"] else 0.35 for r in rows]
    data = [{"type": "bar", "name": label, "x": [r["period_start"] for r in rows], "y": [r[column] for r in rows],
             "marker": {"color": colour, "opacity": opacity},
             "hovertemplate": "%{y}<extra>" + label + "</extra>"} for label, column, colour in series]
    return {"kind": "chart", "data": data,
            "layout": _layout(title, unit, barmode="stack" if stacked else "group")}


def note(text: str) -> dict[str, Any]:
    return {"kind": "note", "text": text}


def table(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"kind": "table", "columns": columns, "rows": rows}


def _grouped(rows: list[dict[str, Any]], *keys: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)].append(r)
    return groups


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def flow_section(rows: list[dict[str, Any]], distribution: bool = True) -> dict[str, Any]:
    if not rows:
        return {"title": "Flow", "blocks": [note(CONFIGURE["flow"])]}
    blocks = [
        bar_chart("Flow velocity: items completed per month", "items",
                  rows, [("completed", "items_completed", COLOURS[0])]),
        line_chart("Flow time", "days", rows, [("p50", "flow_time_p50_days"), ("p85", "flow_time_p85_days")]),
        line_chart("Flow efficiency (active ÷ flow time)", "%", rows, [("efficiency", "flow_efficiency_pct")]),
        line_chart("Flow load: items in progress (daily average)", "items", rows, [("load", "flow_load_avg")]),
    ]
    if distribution:
        shares = [(kind, f"completed_share_{kind}_pct", colour) for kind, colour in TYPE_COLOURS.items()]
        blocks.append(bar_chart("Flow distribution of completed items", "% of completed", rows, shares, stacked=True))
    return {"title": "Flow", "blocks": blocks}


def delivery_section(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not any(r["deployments"] for r in rows):
        return {"title": "Delivery (DORA)", "blocks": [note(CONFIGURE["delivery"])]}
    complete = [r for r in rows if r["is_period_complete"]]
    blocks = []
    if complete:
        last = complete[-1]
        blocks.append(table(["metric", f"{last['period_start'][:7]}", "band"], [
            ["deployment days per week (p50)", _fmt(last["deployment_days_per_week_p50"]),
             last["deployment_frequency_band"]],
            ["change lead time p50 (hours)", _fmt(last["change_lead_time_p50_hours"]), last["change_lead_time_band"]],
            ["change fail rate (%)", _fmt(last["change_fail_rate_pct"]), last["change_fail_rate_band"]],
            ["failed deployment recovery time p50 (hours)", _fmt(last["recovery_time_p50_hours"]),
             last["recovery_time_band"]],
        ]))
    blocks += [
        bar_chart("Deployment frequency: production deployments per month", "deployments", rows,
                  [("deployments", "deployments", COLOURS[0])]),
        line_chart("Change lead time", "hours", rows,
                   [("p50", "change_lead_time_p50_hours"), ("p85", "change_lead_time_p85_hours")]),
        line_chart("Change fail rate", "% of deployments", rows, [("change fail rate", "change_fail_rate_pct")]),
        line_chart("Failed deployment recovery time (p50)", "hours", rows, [("recovery", "recovery_time_p50_hours")]),
    ]
    return {"title": "Delivery (DORA)", "blocks": blocks}


def pull_request_section(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not any(r["pull_requests_merged"] for r in rows):
        return {"title": "Pull requests", "blocks": [note(CONFIGURE["pull_requests"])]}
    return {"title": "Pull requests", "blocks": [
        line_chart("Where pull requests wait (p50)", "minutes", rows,
                   [("pickup", "pickup_p50_minutes"), ("review", "review_p50_minutes")]),
        line_chart("Merged without review, rework and AI-assisted changes", "% of merged PRs", rows,
                   [("merged without review", "merged_without_review_pct"), ("rework", "rework_pct"),
                    ("AI-assisted", "ai_assisted_pct")]),
        line_chart("Pull request size (p50)", "lines changed", rows, [("size", "pr_size_p50_lines")]),
    ]}


def outcome_section(rows: list[dict[str, Any]], investment: list[dict[str, Any]]) -> dict[str, Any]:
    if not any(r["epics_in_scope"] for r in rows):
        return {"title": "Outcomes", "blocks": [note(CONFIGURE["outcomes"])]}
    blocks = [
        line_chart("Feature Factory Ratio (lower is better)", "% of epics",
                   rows, [("Feature Factory Ratio", "feature_factory_ratio_pct")]),
        line_chart("Closing the loop (actual outcome recorded)", "% of epics due", rows,
                   [("closing the loop", "closing_the_loop_rate_pct")]),
        line_chart("Alignment with the OKRs", "%", rows,
                   [("epics linked to a key result", "okr_linkage_pct"),
                    ("active time under linked epics", "aligned_active_time_pct")]),
    ]
    if investment:
        quarter = investment[0]["period_start"][:7]
        labels = [r["objective_title"] or r["category"] for r in investment]
        blocks.append({"kind": "chart", "layout": {**_layout(f"Investment by objective (quarter from {quarter})",
                                                             ""), "xaxis": {"title": {"text": "% of active time"}},
                                                   "yaxis": {"type": "category", "autorange": "reversed"},
                                                   "margin": {"l": 220, "r": 20, "t": 45, "b": 40}},
                       "data": [{"type": "bar", "orientation": "h", "name": "share of active time", "y": labels,
                                 "x": [r["active_time_share_pct"] for r in investment],
                                 "marker": {"color": COLOURS[2]},
                                 "hovertemplate": "%{x:.1f} % of active time<extra></extra>"}]})
    return {"title": "Outcomes", "blocks": blocks}


def sentiment_section(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"title": "Sentiment", "blocks": [note(CONFIGURE["sentiment"])]}
    waves = sorted({(r["wave_start"], r["wave"]) for r in rows})
    by_dimension = _grouped([r for r in rows if r["dimension"] != "enps"], "dimension")
    data = []
    for i, (dimension, cells) in enumerate(sorted(by_dimension.items())):
        value = {c["wave"]: c["favourable_pct"] for c in cells}
        data.append({"type": "scatter", "mode": "lines+markers", "name": dimension.replace("_", " "),
                     "x": [w for _start, w in waves], "y": [value.get(w) for _start, w in waves],
                     "line": {"color": COLOURS[i % len(COLOURS)]}})
    layout = {**_layout("% favourable per survey dimension, wave by wave", "% favourable"),
              "xaxis": {"type": "category"}}
    blocks = [{"kind": "chart", "data": data, "layout": layout}]
    enps = [r for r in rows if r["dimension"] == "enps"]
    if enps:
        blocks.append({"kind": "chart", "layout": {**_layout("eNPS, wave by wave", "eNPS (-100 to 100)"),
                                                   "xaxis": {"type": "category"},
                                                   "yaxis": {"title": {"text": "eNPS"}, "range": [-100, 100]}},
                       "data": [{"type": "bar", "name": "eNPS", "x": [r["wave"] for r in enps],
                                 "y": [r["enps"] for r in enps], "marker": {"color": COLOURS[4]}}]})
    suppressed = sorted({f"{r['wave']} {r['dimension'].replace('_', ' ')}" for r in rows if r["is_suppressed"]})
    if suppressed:
        blocks.append(note("Suppressed (fewer respondents than the anonymity threshold, no figure shown): "
                           + ", ".join(suppressed) + "."))
    return {"title": "Sentiment", "blocks": blocks}


def team_sentiment_block(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return note(CONFIGURE["team_sentiment"])
    shown = []
    for r in rows:
        if r["is_suppressed"]:
            shown.append([r["dimension"].replace("_", " "), r["respondents"], "suppressed", "suppressed"])
        else:
            figure = _fmt(r["enps"]) if r["dimension"] == "enps" else _fmt(r["favourable_pct"])
            shown.append([r["dimension"].replace("_", " "), r["respondents"], figure, _fmt(r["favourable_pct_change"])])
    return table([f"dimension (wave {rows[0]['wave']})", "respondents", "% favourable (eNPS)", "change (points)"],
                 shown)


def value_stream_map_section(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The lead-time ladder of the last complete quarter: steps left to right, each step's median process time
    over its wait, its % complete and accurate under it, the bottleneck marked; the ladder's totals beside."""
    title = "Value stream map"
    if not any(r["items_through"] for r in rows):
        return {"title": title, "blocks": [note(CONFIGURE["value_stream_map"])]}
    quarter = rows[0]["period_start"][:7]
    labels = []
    for r in rows:
        ca = "n/a" if r["complete_and_accurate_pct"] is None else f"{r['complete_and_accurate_pct']:.0f} %"
        labels.append(f"{r['step_position']}. {r['step_status']}<br>%C&amp;A {ca}")
    process = [r["active_time_p50_days"] for r in rows]
    wait = [None if r["time_in_step_p50_days"] is None else
            max(0.0, r["time_in_step_p50_days"] - (r["active_time_p50_days"] or 0.0)) for r in rows]
    custom = [[r["items_through"], _fmt(r["waiting_share_pct"]), r["rework_count"],
               r["top_backward_transitions"] or "none"] for r in rows]
    hover = ("%{y:.1f} days<br>%{customdata[0]} items through; %{customdata[1]} % of the waiting; "
             "rework %{customdata[2]} (%{customdata[3]})<extra>%{fullData.name}</extra>")
    data = [
        {"type": "bar", "name": "wait time (median)", "x": labels, "y": wait, "customdata": custom,
         "marker": {"color": ["#d62728" if r["is_bottleneck"] else "#f4b183" for r in rows]},
         "hovertemplate": hover},
        {"type": "bar", "name": "process time (median)", "x": labels, "y": process, "customdata": custom,
         "marker": {"color": COLOURS[0]}, "hovertemplate": hover},
    ]
    layout = {**_layout(f"Lead-time ladder (quarter from {quarter}): process time over wait time per step",
                        "days (median per step)", barmode="stack"),
              "xaxis": {"type": "category", "tickangle": 0, "automargin": True}, "hovermode": "closest",
              "height": 380, "annotations": [
                  {"x": label, "y": r["time_in_step_p50_days"], "text": "bottleneck", "showarrow": True,
                   "arrowhead": 2, "ax": 0, "ay": -30, "font": {"color": "#d62728", "size": 13}}
                  for label, r in zip(labels, rows, strict=True) if r["is_bottleneck"]]}
    first = rows[0]
    totals = (f"The ladder ({len(rows)} {first['order_source']} steps, quarter from {quarter}): total process time "
              f"{_fmt(first['total_process_time_days'])} of {_fmt(first['total_lead_time_days'])} days of lead "
              f"time (Σ of the steps' medians), activity ratio {_fmt(first['activity_ratio_pct'])} %, rolled "
              f"% complete and accurate {_fmt(first['rolled_complete_and_accurate_pct'])} %, bottleneck "
              f"{first['bottleneck_step'] or 'none'} (the step with the largest share of the waiting).")
    blocks = [{"kind": "chart", "wide": True, "data": data, "layout": layout}, note(totals)]
    return {"title": title, "blocks": blocks}


def team_page(flow: list[dict[str, Any]], baselines: list[dict[str, Any]], waiting: list[dict[str, Any]],
              aging: list[dict[str, Any]], sentiment: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sections = [flow_section(flow, distribution=False)]
    if baselines:
        rows = [[b["area"], b["metric"].replace("_", " "), _fmt(b["metric_value"]), _fmt(b["baseline_value"]),
                 _fmt(b["change_pct"]), b["direction"] or "n/a"] for b in baselines]
        month = baselines[0]["month_start"][:7]
        blocks = [table(["area", "metric", month, "baseline (3 months before)", "change %", "direction"], rows)]
    else:
        blocks = [note(CONFIGURE["baselines"])]
    sections.append({"title": "Beside its own baseline", "blocks": blocks})
    if waiting:
        quarter = waiting[0]["period_start"][:7]
        waiting = sorted(waiting, key=lambda w: w["wait_rank"])[:8]
        blocks = [{"kind": "chart", "layout": {**_layout(f"Where work waits (quarter from {quarter})",
                                                         "% of flow time"), "xaxis": {"type": "category"}},
                   "data": [{"type": "bar", "name": "share of flow time", "x": [w["status_name"] for w in waiting],
                             "y": [w["share_of_flow_time_pct"] for w in waiting], "marker": {"color": COLOURS[1]},
                             "customdata": [[w["items_waited"], w["wait_days_per_item_waited"]] for w in waiting],
                             "hovertemplate": "%{y:.1f} % of flow time; %{customdata[0]} items waited "
                                              "%{customdata[1]:.1f} days each<extra></extra>"}]}]
    else:
        blocks = [note(CONFIGURE["waiting"])]
    sections.append({"title": "Where work waits", "blocks": blocks})
    if aging:
        p85 = aging[0]["team_flow_time_p85_days"]
        statuses = sorted({a["current_status_name"] for a in aging})
        data = []
        for older, colour, label in ((False, COLOURS[0], "within the team's p85"),
                                     (True, COLOURS[3], "older than the team's p85")):
            points = [a for a in aging if bool(a["is_older_than_team_p85"]) == older]
            if points:
                data.append({"type": "scatter", "mode": "markers", "name": label, "marker": {"color": colour},
                             "x": [a["current_status_name"] for a in points], "y": [a["age_days"] for a in points],
                             "text": [f"{a['issue_key']} ({a['flow_item_type']})" for a in points],
                             "hovertemplate": "%{text}: %{y:.0f} days<extra></extra>"})
        layout = {**_layout("Aging work in progress", "age (days)"), "hovermode": "closest",
                  "xaxis": {"type": "category", "categoryorder": "array", "categoryarray": statuses}}
        if p85 is not None:
            layout["shapes"] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": p85, "y1": p85,
                                 "line": {"dash": "dash", "color": "#666"}}]
        blocks = [{"kind": "chart", "data": data, "layout": layout}]
    else:
        blocks = [note(CONFIGURE["aging"])]
    sections.append({"title": "Aging work in progress", "blocks": blocks})
    sections.append({"title": "Sentiment", "blocks": [team_sentiment_block(sentiment)]})
    return sections


def _has_figure(chart: dict[str, Any]) -> bool:
    values = (trace["x"] if trace.get("orientation") == "h" else trace.get("y", []) for trace in chart["data"])
    return any(v is not None for trace_values in values for v in trace_values)


def _drawable(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each chart without a single figure (every value null, e.g. all suppressed) becomes a note saying so."""
    for section in sections:
        section["blocks"] = [block if block["kind"] != "chart" or _has_figure(block)
                             else note(f"{block['layout']['title']['text']}: no figure in these periods.")
                             for block in section["blocks"]]
    return sections


def content(wh: Warehouse) -> dict[str, Any]:
    """Everything the page draws, from the report's queries."""
    rows = {name: fetch(wh, sql) for name, sql in queries().items()}
    flow = _grouped(rows["flow_by_value_stream"], "value_stream")
    delivery = _grouped(rows["delivery_by_value_stream"], "value_stream")
    prs = _grouped(rows["pull_requests_by_value_stream"], "value_stream")
    maps = _grouped(rows["value_stream_map"], "value_stream")
    streams = sorted(set(flow) | set(maps) | set(delivery) | set(prs))
    team_flow = _grouped(rows["team_flow"], "team")
    baselines = _grouped(rows["team_baselines"], "team")
    waiting = _grouped(rows["team_waiting"], "team")
    aging = _grouped(rows["team_aging_work"], "team")
    outcomes = _grouped(rows["outcomes_by_value_stream"], "value_stream")
    investment = _grouped(rows["investment_by_objective"], "value_stream")
    sentiment = _grouped(rows["sentiment_by_value_stream"], "value_stream")
    team_sentiment = _grouped(rows["team_sentiment"], "team")
    team_streams = {r["team"]: r["value_stream"] for name in ("team_flow", "team_baselines", "team_waiting",
                                                              "team_aging_work") for r in rows[name]}
    through = max((r["period_start"] for r in rows["flow_by_value_stream"] if r["is_period_complete"]), default=None)
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "last_complete_month": through[:7] if through else None,
        "streams": {s: _drawable([flow_section(flow.get(s, [])), value_stream_map_section(maps.get(s, [])),
                                  delivery_section(delivery.get(s, [])), pull_request_section(prs.get(s, [])),
                                  outcome_section(outcomes.get(s, []), investment.get(s, [])),
                                  sentiment_section(sentiment.get(s, []))]) for s in streams},
        "teams": {t: {"value_stream": team_streams[t],
                      "sections": _drawable(team_page(team_flow.get(t, []), baselines.get(t, []),
                                                      waiting.get(t, []), aging.get(t, []),
                                                      team_sentiment.get(t, [])))}
                  for t in sorted(team_streams)},
    }


def render(data: dict[str, Any]) -> str:
    from plotly.offline import get_plotlyjs

    page = (HERE / "page.html").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    # str.replace, not format: neither the data nor Plotly's code is read as a template
    return page.replace("/*PLOTLY_JS*/", get_plotlyjs().replace("</script", "<\\/script")).replace(
        "/*REPORT_DATA*/null", payload)


def write_report(target: str | None = None, out: Path | None = None) -> Path:
    """Write the report of the warehouse's marts; returns the file's path."""
    from pipelines.settings import duckdb_path

    out = out or duckdb_path().parent / "report" / "index.html"
    with Warehouse(target) as wh:
        data = content(wh)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data), encoding="utf-8")
    return out
