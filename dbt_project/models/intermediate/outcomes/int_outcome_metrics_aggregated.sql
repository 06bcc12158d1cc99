{#- The outcome metrics per scope (each team, each value stream) and period (month, quarter): every scope
    period of int_flow_scope_periods, with the epics and initiatives in scope (Feature Factory Ratio, OKR
    linkage), those completed in the period (closing the loop, outcome hit rate) and the work items completed
    in it (aligned work). A period without epics is there with its counts 0 and its ratios null. The marts
    outcome_metrics_by_team and outcome_metrics_by_value_stream read it. -#}
with

scope_periods as (

    select * from {{ ref('int_flow_scope_periods') }}
    where grain in ('month', 'quarter')

),

scope_kinds as (

    select 'team' as scope_kind
    union all
    select 'value_stream' as scope_kind

),

-- each epic once for its team and once for its value stream
epics as (

    select
        scope_kinds.scope_kind,
        case when scope_kinds.scope_kind = 'team' then assessed.team else assessed.value_stream end as scope_name,
        assessed.*,
        cast(assessed.created_at as date) as created_date,
        cast(assessed.work_started_at as date) as started_date,
        cast(coalesce(assessed.completed_at, assessed.canceled_at) as date) as ended_date,
        cast(assessed.completed_at as date) as completed_date

    from {{ ref('int_epics_assessed') }} as assessed
    cross join scope_kinds
    where assessed.team is not null

),

work_items as (

    select
        scope_kinds.scope_kind,
        case when scope_kinds.scope_kind = 'team' then aligned.team else aligned.value_stream end as scope_name,
        aligned.*,
        cast(aligned.completed_at as date) as completed_date

    from {{ ref('int_work_items_aligned') }} as aligned
    cross join scope_kinds

),

-- in scope for a period (docs block feature_factory_ratio): created in it, or active during it (started
-- by its end and not ended before its start)
epics_in_scope as (

    select
        scope_periods.scope_kind,
        scope_periods.scope_name,
        scope_periods.grain,
        scope_periods.period_start,
        count(*) as epics_in_scope,
        sum(case when epics.has_anticipated_outcome then 0 else 1 end) as epics_without_anticipated_outcome,
        sum(case when epics.is_key_result_in_catalogue then 1 else 0 end) as epics_linked_to_key_result

    from scope_periods
    inner join epics
        on scope_periods.scope_kind = epics.scope_kind
        and scope_periods.scope_name = epics.scope_name
        and (
            epics.created_date between scope_periods.period_start and scope_periods.period_end
            or (
                epics.started_date <= scope_periods.period_end
                and (epics.ended_date is null or epics.ended_date >= scope_periods.period_start)
            )
        )

    group by 1, 2, 3, 4

),

epics_completed as (

    select
        scope_periods.scope_kind,
        scope_periods.scope_name,
        scope_periods.grain,
        scope_periods.period_start,
        count(*) as epics_completed,
        sum(case when epics.is_due_for_outcome then 1 else 0 end) as epics_due_for_outcome,
        sum(case when epics.is_loop_closed then 1 else 0 end) as epics_with_loop_closed,
        {{ flowmart_percentile('epics.outcome_lag_days', 0.5) }} as outcome_lag_p50_days,
        sum(case when epics.outcome_verdict_class is not null then 1 else 0 end) as epics_with_verdict,
        sum(case when epics.outcome_verdict_class = 'achieved' then 1 else 0 end) as epics_achieved,
        sum(case when epics.outcome_verdict_class = 'partially_achieved' then 1 else 0 end)
            as epics_partially_achieved,
        sum(case when epics.outcome_verdict_class = 'not_achieved' then 1 else 0 end) as epics_not_achieved

    from scope_periods
    inner join epics
        on scope_periods.scope_kind = epics.scope_kind
        and scope_periods.scope_name = epics.scope_name
        and epics.completed_date between scope_periods.period_start and scope_periods.period_end

    group by 1, 2, 3, 4

),

items_completed as (

    select
        scope_periods.scope_kind,
        scope_periods.scope_name,
        scope_periods.grain,
        scope_periods.period_start,
        count(*) as items_completed,
        sum(case when work_items.is_aligned then 1 else 0 end) as items_completed_aligned,
        sum(work_items.active_time_days) as active_time_days,
        sum(case when work_items.is_aligned then work_items.active_time_days else 0 end) as aligned_active_time_days

    from scope_periods
    inner join work_items
        on scope_periods.scope_kind = work_items.scope_kind
        and scope_periods.scope_name = work_items.scope_name
        and work_items.completed_date between scope_periods.period_start and scope_periods.period_end

    group by 1, 2, 3, 4

)

select
    cast(scope_periods.scope_kind as {{ flowmart_string() }}) as scope_kind,
    scope_periods.scope_name,
    scope_periods.team,
    scope_periods.value_stream,
    cast(scope_periods.grain as {{ flowmart_string() }}) as grain,
    scope_periods.period_start,
    scope_periods.period_end,
    scope_periods.is_period_complete,
    -- Feature Factory Ratio and OKR linkage, over the epics in scope
    cast(coalesce(epics_in_scope.epics_in_scope, 0) as integer) as epics_in_scope,
    cast(coalesce(epics_in_scope.epics_without_anticipated_outcome, 0) as integer)
        as epics_without_anticipated_outcome,
    cast(100.0 * epics_in_scope.epics_without_anticipated_outcome / nullif(epics_in_scope.epics_in_scope, 0)
        as {{ flowmart_double() }}) as feature_factory_ratio_pct,
    cast(coalesce(epics_in_scope.epics_linked_to_key_result, 0) as integer) as epics_linked_to_key_result,
    cast(100.0 * epics_in_scope.epics_linked_to_key_result / nullif(epics_in_scope.epics_in_scope, 0)
        as {{ flowmart_double() }}) as okr_linkage_pct,
    -- closing the loop and outcome hit rate, over the epics completed in the period
    cast(coalesce(epics_completed.epics_completed, 0) as integer) as epics_completed,
    cast(coalesce(epics_completed.epics_due_for_outcome, 0) as integer) as epics_due_for_outcome,
    cast(coalesce(epics_completed.epics_with_loop_closed, 0) as integer) as epics_with_loop_closed,
    cast(100.0 * epics_completed.epics_with_loop_closed / nullif(epics_completed.epics_due_for_outcome, 0)
        as {{ flowmart_double() }}) as closing_the_loop_rate_pct,
    cast(epics_completed.outcome_lag_p50_days as {{ flowmart_double() }}) as outcome_lag_p50_days,
    cast(coalesce(epics_completed.epics_with_verdict, 0) as integer) as epics_with_verdict,
    cast(coalesce(epics_completed.epics_achieved, 0) as integer) as epics_achieved,
    cast(coalesce(epics_completed.epics_partially_achieved, 0) as integer) as epics_partially_achieved,
    cast(coalesce(epics_completed.epics_not_achieved, 0) as integer) as epics_not_achieved,
    cast(100.0 * epics_completed.epics_achieved / nullif(epics_completed.epics_with_verdict, 0)
        as {{ flowmart_double() }}) as outcome_hit_rate_pct,
    -- aligned work, over the work items completed in the period
    cast(coalesce(items_completed.items_completed, 0) as integer) as items_completed,
    cast(coalesce(items_completed.items_completed_aligned, 0) as integer) as items_completed_aligned,
    cast(100.0 * items_completed.items_completed_aligned / nullif(items_completed.items_completed, 0)
        as {{ flowmart_double() }}) as aligned_items_pct,
    cast(100.0 * items_completed.aligned_active_time_days / nullif(items_completed.active_time_days, 0)
        as {{ flowmart_double() }}) as aligned_active_time_pct

from scope_periods
left join epics_in_scope
    on scope_periods.scope_kind = epics_in_scope.scope_kind
    and scope_periods.scope_name = epics_in_scope.scope_name
    and scope_periods.grain = epics_in_scope.grain
    and scope_periods.period_start = epics_in_scope.period_start
left join epics_completed
    on scope_periods.scope_kind = epics_completed.scope_kind
    and scope_periods.scope_name = epics_completed.scope_name
    and scope_periods.grain = epics_completed.grain
    and scope_periods.period_start = epics_completed.period_start
left join items_completed
    on scope_periods.scope_kind = items_completed.scope_kind
    and scope_periods.scope_name = items_completed.scope_name
    and scope_periods.grain = items_completed.grain
    and scope_periods.period_start = items_completed.period_start
