{#- Where work waits (the bottleneck view): per team, period (week / month / quarter) and status, the time
    the items completed in the period spent in that status while it counted as waiting — between work
    start and work end, in any state but active (waiting statuses, and also backlog or done when the
    item went back or was reopened). -#}
with

work_items as (

    select * from {{ ref('int_work_items_measured') }}
    where is_completed and is_started

),

status_periods as (

    select * from {{ ref('int_status_periods_classified') }}

),

teams as (

    select * from {{ ref('stg_org__teams') }}

),

grains as (

    select 'week' as grain
    union all
    select 'month' as grain
    union all
    select 'quarter' as grain

),

completed as (

    select
        work_items.issue_id,
        work_items.team,
        teams.value_stream,
        work_items.work_started_at,
        work_items.work_ended_at,
        cast(work_items.completed_at as date) as completed_date,
        work_items.flow_time_hours,
        work_items.wait_time_hours

    from work_items
    inner join teams
        on work_items.team = teams.team

),

-- per team and day of completion first (an item completes on one day, so counts add up over days)
daily_totals as (

    select
        team,
        completed_date,
        count(*) as items_completed,
        sum(flow_time_hours) as flow_time_hours,
        sum(wait_time_hours) as wait_time_hours

    from completed
    group by 1, 2

),

daily_waits as (

    select
        completed.team,
        completed.value_stream,
        completed.completed_date,
        status_periods.status_name,
        -- the state the status is mapped to: waiting, or backlog/done when the item went back or reopened
        min(status_periods.flow_state) as flow_state,
        count(distinct completed.issue_id) as items_waited,
        sum(status_periods.duration_hours) as wait_hours

    from completed
    inner join status_periods
        on completed.issue_id = status_periods.issue_id

    where
        status_periods.flow_state <> 'active'
        and status_periods.started_at >= completed.work_started_at
        and status_periods.started_at < completed.work_ended_at

    group by 1, 2, 3, 4

),

team_totals as (

    select
        daily_totals.team,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'daily_totals.completed_date') }} as period_start,
        sum(daily_totals.items_completed) as items_completed,
        sum(daily_totals.flow_time_hours) as flow_time_hours,
        sum(daily_totals.wait_time_hours) as wait_time_hours

    from daily_totals
    cross join grains

    group by 1, 2, 3

),

by_status as (

    select
        daily_waits.team,
        daily_waits.value_stream,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'daily_waits.completed_date') }} as period_start,
        daily_waits.status_name,
        min(daily_waits.flow_state) as flow_state,
        sum(daily_waits.items_waited) as items_waited,
        sum(daily_waits.wait_hours) as wait_hours

    from daily_waits
    cross join grains

    group by 1, 2, 3, 4, 5

)

select
    by_status.team,
    by_status.value_stream,
    cast(by_status.grain as varchar) as grain,
    by_status.period_start,
    {{ flowmart_period_end('by_status.grain', 'by_status.period_start') }} as period_end,
    by_status.status_name,
    by_status.flow_state,
    cast(by_status.items_waited as integer) as items_waited,
    cast(team_totals.items_completed as integer) as items_completed,
    cast(by_status.wait_hours as double precision) as wait_hours,
    cast(by_status.wait_hours / by_status.items_waited as double precision) as wait_hours_per_item_waited,
    cast(100.0 * by_status.wait_hours / nullif(team_totals.flow_time_hours, 0) as double precision)
        as share_of_flow_time_pct,
    cast(100.0 * by_status.wait_hours / nullif(team_totals.wait_time_hours, 0) as double precision)
        as share_of_wait_time_pct,
    cast(row_number() over (
        partition by by_status.team, by_status.grain, by_status.period_start
        order by by_status.wait_hours desc, by_status.status_name
    ) as integer) as wait_rank

from by_status
inner join team_totals
    on by_status.team = team_totals.team
    and by_status.grain = team_totals.grain
    and by_status.period_start = team_totals.period_start
