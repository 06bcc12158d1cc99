{#- Items created, completed and canceled per team per week (Monday-based weeks, UTC), every team and every
    week from the first item to now, zeros included. Work items and incidents count; epics and initiatives
    do not. Completed and canceled are those of the flow metrics (int_flow_metrics_aggregated: the item's
    final flow state), so this mart and flow_metrics_by_team at week grain agree. -#}
with

weeks as (

    select * from {{ ref('int_flow_metrics_aggregated') }}
    where scope_kind = 'team' and grain = 'week'

),

created as (

    select
        team,
        {{ flowmart_period_start("'week'", 'cast(created_at as date)') }} as week_start,
        count(*) as items_created

    from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }} and team is not null
    group by 1, 2

)

select
    cast(weeks.team as {{ flowmart_string() }}) as team,
    cast(weeks.value_stream as {{ flowmart_string() }}) as value_stream,
    weeks.period_start as week_start,
    weeks.is_period_complete,
    cast(coalesce(created.items_created, 0) as bigint) as items_created,
    cast(weeks.items_completed as bigint) as items_completed,
    cast(weeks.items_canceled as bigint) as items_canceled

from weeks
left join created
    on weeks.team = created.team
    and weeks.period_start = created.week_start
