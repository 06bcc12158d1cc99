{#- Where work waits (the bottleneck view): per team, period (week / month / quarter) and status, the time the
    items the team completed in the period spent in that status while it counted as waiting — between work
    start and work end, in any state but active (waiting statuses, and also backlog or done when the item
    went back or was reopened). -#}
with

completed as (

    select * from {{ ref('completed_work_items') }}
    where is_started

),

status_periods as (

    select * from {{ ref('int_status_periods_classified') }}

),

completed_by_period as (

    select
        completed.*,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'completed.completed_date') }} as period_start

    from completed
    cross join ({{ flowmart_grains() }}) as grains

),

team_totals as (

    select
        team,
        grain,
        period_start,
        count(*) as items_completed,
        sum(flow_time_days) as flow_time_days,
        sum(wait_time_days) as wait_time_days

    from completed_by_period
    group by 1, 2, 3

),

by_status as (

    select
        completed_by_period.team,
        min(completed_by_period.value_stream) as value_stream,
        completed_by_period.grain,
        completed_by_period.period_start,
        status_periods.status_name,
        -- the state the status is mapped to: waiting, or backlog/done when the item went back or reopened
        min(status_periods.flow_state) as flow_state,
        count(distinct completed_by_period.issue_id) as items_waited,
        sum(status_periods.duration_days) as wait_days

    from completed_by_period
    inner join status_periods
        on completed_by_period.issue_id = status_periods.issue_id

    where
        status_periods.flow_state <> 'active'
        and status_periods.started_at >= completed_by_period.work_started_at
        and status_periods.started_at < completed_by_period.completed_at

    group by 1, 3, 4, 5

)

select
    cast(by_status.team as {{ flowmart_string() }}) as team,
    cast(by_status.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(by_status.grain as {{ flowmart_string() }}) as grain,
    by_status.period_start,
    {{ flowmart_period_end('by_status.grain', 'by_status.period_start') }} as period_end,
    {{ flowmart_period_end('by_status.grain', 'by_status.period_start') }} < cast({{ flowmart_now() }} as date)
        as is_period_complete,
    cast(by_status.status_name as {{ flowmart_string() }}) as status_name,
    cast(by_status.flow_state as {{ flowmart_string() }}) as flow_state,
    cast(by_status.items_waited as integer) as items_waited,
    cast(team_totals.items_completed as integer) as items_completed,
    cast(by_status.wait_days as {{ flowmart_double() }}) as wait_days,
    cast(by_status.wait_days / by_status.items_waited as {{ flowmart_double() }}) as wait_days_per_item_waited,
    cast(100.0 * by_status.wait_days / nullif(team_totals.flow_time_days, 0) as {{ flowmart_double() }})
        as share_of_flow_time_pct,
    cast(100.0 * by_status.wait_days / nullif(team_totals.wait_time_days, 0) as {{ flowmart_double() }})
        as share_of_wait_time_pct,
    cast(row_number() over (
        partition by by_status.team, by_status.grain, by_status.period_start
        order by by_status.wait_days desc, by_status.status_name
    ) as integer) as wait_rank

from by_status
inner join team_totals
    on by_status.team = team_totals.team
    and by_status.grain = team_totals.grain
    and by_status.period_start = team_totals.period_start
