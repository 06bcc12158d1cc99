{#- Where work waits (the bottleneck view): per team, period (week / month / quarter) and status, the time
    the items completed in the period spent in that status while it counted as waiting — between work
    start and work end, in any state but active (waiting statuses, and also backlog or done when the
    item went back or was reopened). Rolled up from int_flow_waits_daily (incremental), so a daily run
    reads a million day rows instead of joining every completed item with its status periods. -#}
with

daily as (

    select * from {{ ref('int_flow_waits_daily') }}

),

grains as (

    select 'week' as grain
    union all
    select 'month' as grain
    union all
    select 'quarter' as grain

),

-- the day rows: a null status_name holds the day's totals, the others the waits per status
daily_totals as (

    select team, completed_date, items_completed, flow_time_hours, wait_hours as wait_time_hours
    from daily
    where status_name is null

),

daily_waits as (

    select team, value_stream, completed_date, status_name, flow_state, items_waited, wait_hours
    from daily
    where status_name is not null

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

daily_waits_by_grain as (

    select
        daily_waits.*,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'daily_waits.completed_date') }} as period_start

    from daily_waits
    cross join grains

),

by_status as (

    select
        daily_waits.team,
        daily_waits.value_stream,
        daily_waits.grain,
        daily_waits.period_start,
        daily_waits.status_name,
        min(daily_waits.flow_state) as flow_state,
        sum(daily_waits.items_waited) as items_waited,
        sum(daily_waits.wait_hours) as wait_hours

    from daily_waits_by_grain as daily_waits

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
