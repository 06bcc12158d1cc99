{#- The ladder's totals of the value stream map per scope (each team, each value stream) and period (month,
    quarter), from its steps (int_value_stream_map_steps_by_period): total process and lead time, the
    activity ratio, the rolled % complete and accurate and the bottleneck step. -#}
with

steps as (

    select * from {{ ref('int_value_stream_map_steps_by_period') }}

),

totals as (

    select
        scope_kind,
        scope_name,
        min(team) as team,
        min(value_stream) as value_stream,
        grain,
        period_start,
        min(period_end) as period_end,
        -- the same for every step of a scope period
        min(case when is_period_complete then 1 else 0 end) = 1 as is_period_complete,
        min(order_source) as order_source,
        count(*) as steps,
        max(items_through) as items_through_busiest_step,
        sum(active_time_p50_days) as total_process_time_days,
        sum(time_in_step_p50_days) as total_lead_time_days,
        -- product of the steps' %C&A (steps that passed no work on forward have none and are left out);
        -- as exp(Σ ln) since SQL has no product aggregate, with 0 when any step is at 0 %
        case
            when count(complete_and_accurate_pct) = 0 then null
            when min(complete_and_accurate_pct) = 0 then 0.0
            else 100.0 * exp(sum(ln(nullif(complete_and_accurate_pct, 0) / 100.0)))
        end as rolled_complete_and_accurate_pct,
        count(complete_and_accurate_pct) as steps_with_complete_and_accurate

    from steps
    group by scope_kind, scope_name, grain, period_start

),

bottlenecks as (

    select scope_kind, scope_name, grain, period_start, step_position, step_status, waiting_share_pct
    from steps
    where is_bottleneck

)

select
    cast(totals.scope_kind as {{ flowmart_string() }}) as scope_kind,
    cast(totals.scope_name as {{ flowmart_string() }}) as scope_name,
    cast(totals.team as {{ flowmart_string() }}) as team,
    cast(totals.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(totals.grain as {{ flowmart_string() }}) as grain,
    totals.period_start,
    totals.period_end,
    totals.is_period_complete,
    cast(totals.order_source as {{ flowmart_string() }}) as order_source,
    cast(totals.steps as integer) as steps,
    cast(totals.items_through_busiest_step as integer) as items_through_busiest_step,
    cast(totals.total_process_time_days as {{ flowmart_double() }}) as total_process_time_days,
    cast(totals.total_lead_time_days as {{ flowmart_double() }}) as total_lead_time_days,
    cast(100.0 * totals.total_process_time_days / nullif(totals.total_lead_time_days, 0) as {{ flowmart_double() }})
        as activity_ratio_pct,
    cast(totals.rolled_complete_and_accurate_pct as {{ flowmart_double() }}) as rolled_complete_and_accurate_pct,
    cast(totals.steps_with_complete_and_accurate as integer) as steps_with_complete_and_accurate,
    cast(bottlenecks.step_position as integer) as bottleneck_step_position,
    cast(bottlenecks.step_status as {{ flowmart_string() }}) as bottleneck_step,
    cast(bottlenecks.waiting_share_pct as {{ flowmart_double() }}) as bottleneck_waiting_share_pct

from totals
left join bottlenecks
    on totals.scope_kind = bottlenecks.scope_kind
    and totals.scope_name = bottlenecks.scope_name
    and totals.grain = bottlenecks.grain
    and totals.period_start = bottlenecks.period_start
