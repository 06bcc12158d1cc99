{#- The Flow Framework per scope (each team, each value stream) and period (week, month, quarter): every scope
    period (int_flow_scope_periods) with its completions (int_flow_completions_by_period: velocity, flow
    time, efficiency, lead time, canceled items), its load (int_flow_load_by_period) and Flow Distribution:
    the share of each flow item type among the completed items and among the items in progress at period
    end. The marts flow_metrics_by_team and flow_metrics_by_value_stream read it. -#}
{%- set flow_item_types = ['feature', 'defect', 'debt', 'risk'] -%}

with

scope_periods as (

    select * from {{ ref('int_flow_scope_periods') }}

),

completions as (

    select * from {{ ref('int_flow_completions_by_period') }}

),

loads as (

    select * from {{ ref('int_flow_load_by_period') }}

)

select
    scope_periods.scope_kind,
    scope_periods.scope_name,
    scope_periods.team,
    scope_periods.value_stream,
    scope_periods.grain,
    scope_periods.period_start,
    scope_periods.period_end,
    scope_periods.is_period_complete,
    scope_periods.snapshot_days,
    -- Flow Velocity
    coalesce(completions.items_completed, 0) as items_completed,
    {% for t in flow_item_types -%}
    coalesce(completions.items_completed_{{ t }}, 0) as items_completed_{{ t }},
    {% endfor -%}
    coalesce(completions.items_completed_without_start, 0) as items_completed_without_start,
    -- Flow Time, Flow Efficiency, lead time
    completions.flow_time_p50_days,
    completions.flow_time_p85_days,
    completions.flow_efficiency_pct,
    completions.lead_time_p50_days,
    -- Flow Load
    {% for t in [''] + flow_item_types -%}
    loads.flow_load_avg{{ '_' ~ t if t }},
    {% endfor -%}
    {% for t in [''] + flow_item_types -%}
    loads.flow_load_end{{ '_' ~ t if t }},
    {% endfor -%}
    -- Flow Distribution
    {% for t in flow_item_types -%}
    cast(100.0 * completions.items_completed_{{ t }} / nullif(completions.items_completed, 0) as {{ flowmart_double() }})
        as completed_share_{{ t }}_pct,
    {% endfor -%}
    {% for t in flow_item_types -%}
    cast(100.0 * loads.flow_load_end_{{ t }} / nullif(loads.flow_load_end, 0) as {{ flowmart_double() }})
        as in_progress_share_{{ t }}_pct,
    {% endfor -%}
    coalesce(completions.items_canceled, 0) as items_canceled

from scope_periods
left join completions
    on scope_periods.scope_kind = completions.scope_kind
    and scope_periods.scope_name = completions.scope_name
    and scope_periods.grain = completions.grain
    and scope_periods.period_start = completions.period_start
left join loads
    on scope_periods.scope_kind = loads.scope_kind
    and scope_periods.scope_name = loads.scope_name
    and scope_periods.grain = loads.grain
    and scope_periods.period_start = loads.period_start
