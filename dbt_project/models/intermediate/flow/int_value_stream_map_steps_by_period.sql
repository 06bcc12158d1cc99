{#- The value stream map per scope (each team, each value stream), step and period (month, quarter): the
    items that left the step in the period (a visit that ended in it), their time in the step (active and
    waiting), % complete and accurate, rework and the most common backward transitions. One row for every
    step of the scope's value stream and every period of int_flow_scope_periods, with or without items. -#}
with

visits as (

    select * from {{ ref('int_step_visits_classified') }}
    where ended_at is not null

),

scope_periods as (

    select * from {{ ref('int_flow_scope_periods') }}
    where grain in ('month', 'quarter')

),

steps as (

    select * from {{ ref('int_value_stream_steps_ordered') }}

),

-- each visit once for its team and once for its value stream, in the period it left the step
visits_by_scope as (

    select
        scope_kinds.scope_kind,
        case when scope_kinds.scope_kind = 'team' then visits.team else visits.value_stream end as scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'visits.left_date') }} as period_start,
        visits.*

    from visits
    cross join (select 'team' as scope_kind union all select 'value_stream' as scope_kind) as scope_kinds
    cross join (select 'month' as grain union all select 'quarter' as grain) as grains

),

-- per item: its time in the step over the visits that ended in the period, and whether its work passed on
-- complete and accurate (left forward, and never came back to the step or an earlier one afterwards)
items as (

    select
        scope_kind,
        scope_name,
        grain,
        period_start,
        step_position,
        issue_id,
        sum(duration_days) as time_in_step_days,
        sum(active_days) as active_days,
        sum(waiting_days) as waiting_days,
        max(case when exit_direction = 'forward' then 1 else 0 end) as left_forward,
        min(case when exit_direction = 'forward' and is_returned_later then 0 else 1 end) as passed_without_rework,
        sum(case when exit_direction = 'backward' then 1 else 0 end) as backward_exits

    from visits_by_scope
    group by 1, 2, 3, 4, 5, 6

),

step_figures as (

    select
        scope_kind,
        scope_name,
        grain,
        period_start,
        step_position,
        count(*) as items_through,
        {{ flowmart_percentile('time_in_step_days', 0.5) }} as time_in_step_p50_days,
        {{ flowmart_percentile('time_in_step_days', 0.85) }} as time_in_step_p85_days,
        {{ flowmart_percentile('active_days', 0.5) }} as active_time_p50_days,
        {{ flowmart_percentile('active_days', 0.85) }} as active_time_p85_days,
        {{ flowmart_percentile('waiting_days', 0.5) }} as waiting_time_p50_days,
        {{ flowmart_percentile('waiting_days', 0.85) }} as waiting_time_p85_days,
        sum(active_days) as active_days,
        sum(waiting_days) as waiting_days,
        sum(left_forward) as items_left_forward,
        sum(case when left_forward = 1 and passed_without_rework = 1 then 1 else 0 end)
            as items_complete_and_accurate,
        sum(backward_exits) as rework_count

    from items
    group by 1, 2, 3, 4, 5

),

-- the backward transitions out of each step (from → to), ranked by how often they happened
backward_transitions as (

    select
        scope_kind,
        scope_name,
        grain,
        period_start,
        step_position,
        step_status,
        next_status_name,
        count(*) as transitions

    from visits_by_scope
    where exit_direction = 'backward'
    group by 1, 2, 3, 4, 5, 6, 7

),

backward_ranked as (

    select
        backward_transitions.*,
        row_number() over (
            partition by scope_kind, scope_name, grain, period_start, step_position
            order by transitions desc, next_status_name
        ) as transition_rank

    from backward_transitions

),

backward_listed as (

    select
        scope_kind,
        scope_name,
        grain,
        period_start,
        step_position,
        {{ flowmart_string_agg(
            "step_status || ' → ' || next_status_name || ': ' || cast(transitions as " ~ dbt.type_string() ~ ")",
            "'; '", 'transition_rank'
        ) }} as top_backward_transitions

    from backward_ranked
    where transition_rank <= 3
    group by 1, 2, 3, 4, 5

),

-- every step of the scope's value stream in every period
spine as (

    select
        scope_periods.scope_kind,
        scope_periods.scope_name,
        scope_periods.team,
        scope_periods.value_stream,
        scope_periods.grain,
        scope_periods.period_start,
        scope_periods.period_end,
        scope_periods.is_period_complete,
        steps.step_position,
        steps.step_status,
        steps.order_source

    from scope_periods
    inner join steps
        on scope_periods.value_stream = steps.value_stream

),

joined as (

    select
        spine.*,
        coalesce(step_figures.items_through, 0) as items_through,
        step_figures.time_in_step_p50_days,
        step_figures.time_in_step_p85_days,
        step_figures.active_time_p50_days,
        step_figures.active_time_p85_days,
        step_figures.waiting_time_p50_days,
        step_figures.waiting_time_p85_days,
        step_figures.active_days,
        step_figures.waiting_days,
        coalesce(step_figures.items_left_forward, 0) as items_left_forward,
        coalesce(step_figures.items_complete_and_accurate, 0) as items_complete_and_accurate,
        100.0 * step_figures.items_complete_and_accurate / nullif(step_figures.items_left_forward, 0)
            as complete_and_accurate_pct,
        coalesce(step_figures.rework_count, 0) as rework_count,
        backward_listed.top_backward_transitions,
        100.0 * step_figures.waiting_days / nullif(sum(step_figures.waiting_days) over (
            partition by spine.scope_kind, spine.scope_name, spine.grain, spine.period_start
        ), 0) as waiting_share_pct

    from spine
    left join step_figures
        on spine.scope_kind = step_figures.scope_kind
        and spine.scope_name = step_figures.scope_name
        and spine.grain = step_figures.grain
        and spine.period_start = step_figures.period_start
        and spine.step_position = step_figures.step_position
    left join backward_listed
        on spine.scope_kind = backward_listed.scope_kind
        and spine.scope_name = backward_listed.scope_name
        and spine.grain = backward_listed.grain
        and spine.period_start = backward_listed.period_start
        and spine.step_position = backward_listed.step_position

),

ranked as (

    select
        joined.*,
        row_number() over (
            partition by scope_kind, scope_name, grain, period_start
            order by coalesce(waiting_share_pct, -1) desc, step_position
        ) as waiting_rank

    from joined

)

select
    cast(scope_kind as {{ flowmart_string() }}) as scope_kind,
    cast(scope_name as {{ flowmart_string() }}) as scope_name,
    cast(team as {{ flowmart_string() }}) as team,
    cast(value_stream as {{ flowmart_string() }}) as value_stream,
    cast(grain as {{ flowmart_string() }}) as grain,
    period_start,
    period_end,
    is_period_complete,
    cast(step_position as integer) as step_position,
    cast(step_status as {{ flowmart_string() }}) as step_status,
    cast(order_source as {{ flowmart_string() }}) as order_source,
    cast(items_through as integer) as items_through,
    cast(time_in_step_p50_days as {{ flowmart_double() }}) as time_in_step_p50_days,
    cast(time_in_step_p85_days as {{ flowmart_double() }}) as time_in_step_p85_days,
    cast(active_time_p50_days as {{ flowmart_double() }}) as active_time_p50_days,
    cast(active_time_p85_days as {{ flowmart_double() }}) as active_time_p85_days,
    cast(waiting_time_p50_days as {{ flowmart_double() }}) as waiting_time_p50_days,
    cast(waiting_time_p85_days as {{ flowmart_double() }}) as waiting_time_p85_days,
    cast(active_days as {{ flowmart_double() }}) as active_days,
    cast(waiting_days as {{ flowmart_double() }}) as waiting_days,
    cast(waiting_share_pct as {{ flowmart_double() }}) as waiting_share_pct,
    cast(items_left_forward as integer) as items_left_forward,
    cast(items_complete_and_accurate as integer) as items_complete_and_accurate,
    cast(complete_and_accurate_pct as {{ flowmart_double() }}) as complete_and_accurate_pct,
    cast(rework_count as integer) as rework_count,
    cast(top_backward_transitions as {{ flowmart_string() }}) as top_backward_transitions,
    coalesce(waiting_rank = 1 and waiting_share_pct > 0, false) as is_bottleneck

from ranked
