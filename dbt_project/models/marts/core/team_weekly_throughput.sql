-- Items created and completed per team per week (Monday-based weeks, UTC), every team and every week
-- from the first item to now, zeros included. Work items and incidents count; epics and initiatives
-- do not. Completed = resolved into a done status with a resolution that is not a cancellation;
-- canceled items are counted separately. An item reopened and resolved again counts in its final week.
with

items as (
    select * from {{ ref('int_work_items_owned') }}
    where item_role in ('work_item', 'incident') and team is not null
),

canceled_resolutions as (
    select resolution from {{ ref('stg_org__canceled_resolutions') }}
),

teams as (
    select team, value_stream from {{ ref('stg_org__teams') }}
),

weeks as (
    {{ flowmart_date_spine('week', "(select min(created_at) from items)", flowmart_now()) }}
),

classified as (
    select
        items.team,
        cast({{ dbt.date_trunc('week', 'items.created_at') }} as date) as created_week,
        case when items.status_category = 'done' and items.resolved_at is not null
            then cast({{ dbt.date_trunc('week', 'items.resolved_at') }} as date) end as resolved_week,
        items.status_category = 'done' and items.resolved_at is not null
            and items.resolution in (select resolution from canceled_resolutions) as is_canceled
    from items
),

created as (
    select team, created_week as week_start, count(*) as items_created
    from classified group by team, created_week
),

resolved as (
    select
        team,
        resolved_week as week_start,
        sum(case when is_canceled then 0 else 1 end) as items_completed,
        sum(case when is_canceled then 1 else 0 end) as items_canceled
    from classified
    where resolved_week is not null
    group by team, resolved_week
),

final as (
    select
        cast(teams.team as varchar) as team,
        cast(teams.value_stream as varchar) as value_stream,
        cast(weeks.period_start as date) as week_start,
        cast(coalesce(created.items_created, 0) as bigint) as items_created,
        cast(coalesce(resolved.items_completed, 0) as bigint) as items_completed,
        cast(coalesce(resolved.items_canceled, 0) as bigint) as items_canceled
    from teams
    cross join weeks
    left join created on created.team = teams.team and created.week_start = weeks.period_start
    left join resolved on resolved.team = teams.team and resolved.week_start = weeks.period_start
)

select * from final
