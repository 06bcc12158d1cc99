{#- Flow Velocity, Flow Time, Flow Efficiency, lead time and canceled items per scope (each team, each value
    stream) and period (week, month, quarter): the items completed (or canceled) in the period. Only the
    scope periods that have such items; int_flow_metrics_aggregated fills in the others. -#}
{%- set flow_item_types = ['feature', 'defect', 'debt', 'risk'] -%}

with

ended_items as (

    select * from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }} and team is not null and (is_completed or is_canceled)

),

-- each item once for its team and once for its value stream, in the period of its end, at every grain
by_scope_and_period as (

    select
        scope_kinds.scope_kind,
        case when scope_kinds.scope_kind = 'team' then ended_items.team else ended_items.value_stream end
            as scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'cast(ended_items.work_ended_at as date)') }} as period_start,
        ended_items.*

    from ended_items
    cross join (select 'team' as scope_kind union all select 'value_stream' as scope_kind) as scope_kinds
    cross join ({{ flowmart_grains() }}) as grains

)

select
    cast(scope_kind as {{ flowmart_string() }}) as scope_kind,
    scope_name,
    cast(grain as {{ flowmart_string() }}) as grain,
    period_start,
    cast(sum(case when is_completed then 1 else 0 end) as integer) as items_completed,
    {% for t in flow_item_types -%}
    cast(sum(case when is_completed and flow_item_type = '{{ t }}' then 1 else 0 end) as integer)
        as items_completed_{{ t }},
    {% endfor -%}
    cast(sum(case when is_completed_without_start then 1 else 0 end) as integer) as items_completed_without_start,
    -- flow time and efficiency: completed items that were started (the others have no flow time)
    cast({{ flowmart_percentile('flow_time_days', 0.5) }} as {{ flowmart_double() }}) as flow_time_p50_days,
    cast({{ flowmart_percentile('flow_time_days', 0.85) }} as {{ flowmart_double() }}) as flow_time_p85_days,
    -- the items' flow efficiency weighted by their flow time, which is Σ active time ÷ Σ flow time
    cast(sum(flow_efficiency_pct * flow_time_days) / nullif(sum(flow_time_days), 0) as {{ flowmart_double() }})
        as flow_efficiency_pct,
    cast({{ flowmart_percentile('lead_time_days', 0.5) }} as {{ flowmart_double() }}) as lead_time_p50_days,
    cast(sum(case when is_canceled then 1 else 0 end) as integer) as items_canceled

from by_scope_and_period

group by 1, 2, 3, 4
