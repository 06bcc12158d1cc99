{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['team', 'grain', 'period_start'],
        on_schema_change='fail',
        post_hook=["{{ flowmart_delete_stale_wait_periods(this) }}"],
    )
}}

{#- Where work waits (the bottleneck view): per team, period (week / month / quarter) and status, the time
    the items completed in the period spent in that status while it counted as waiting — between work
    start and work end, in any state but active (waiting statuses, and also backlog or done when the
    item went back or was reopened). Rolled up from int_flow_waits_daily (incremental), so a daily run
    reads a million day rows instead of joining every completed item with its status periods.

    Incremental by team and period: a run rewrites the periods holding a day whose items were updated since
    the last run (minus flow_lookback_days), and the periods whose count of completed items moved (an item
    left them) or that are not stored yet; a post-hook drops the periods left without completions. -#}
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

    select team, completed_date, items_completed, flow_time_hours, wait_hours as wait_time_hours,
        completions_updated_through
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
        sum(daily_totals.wait_time_hours) as wait_time_hours,
        max(daily_totals.completions_updated_through) as last_item_updated_at

    from daily_totals
    cross join grains

    group by 1, 2, 3

),

{% if is_incremental() -%}
stored_periods as (

    select distinct team, grain, period_start, items_completed
    from {{ this }}

),

periods_to_write as (

    select team, grain, period_start
    from team_totals
    where last_item_updated_at > ({{ flowmart_last_run_watermark(this, 'last_item_updated_at') }})

    union

    select team_totals.team, team_totals.grain, team_totals.period_start
    from team_totals
    left join stored_periods
        on team_totals.team = stored_periods.team
        and team_totals.grain = stored_periods.grain
        and team_totals.period_start = stored_periods.period_start
    where stored_periods.team is null or stored_periods.items_completed <> team_totals.items_completed

),

{% endif -%}

daily_waits_by_grain as (

    select
        daily_waits.*,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'daily_waits.completed_date') }} as period_start

    from daily_waits
    cross join grains

),

{% if is_incremental() -%}
daily_waits_to_write as (

    select daily_waits_by_grain.*
    from daily_waits_by_grain
    inner join periods_to_write
        on daily_waits_by_grain.team = periods_to_write.team
        and daily_waits_by_grain.grain = periods_to_write.grain
        and daily_waits_by_grain.period_start = periods_to_write.period_start

),
{% else -%}
daily_waits_to_write as (

    select * from daily_waits_by_grain

),
{% endif -%}

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

    from daily_waits_to_write as daily_waits

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
    ) as integer) as wait_rank,
    team_totals.last_item_updated_at

from by_status
inner join team_totals
    on by_status.team = team_totals.team
    and by_status.grain = team_totals.grain
    and by_status.period_start = team_totals.period_start
