{#- The dependency map (docs block cross_team_dependency): per pair of teams (the blocking team, the blocked
    team) and month / quarter, the "blocks" links between their items that were open during the period and at
    its end, the items blocked, and the time those items spent waiting while a blocking item of the other team
    was open; ranked by that time within the period. Only pairs with a dependency in the period have a row.
    Links between items of the same team are not dependencies between teams and are left out. -#}
with

links as (

    select * from {{ ref('int_blocking_links_paired') }}
    -- a blocking item that ended before the other was created never blocked it (an empty window)
    where is_cross_team and (closed_at is null or closed_at > opened_at)

),

periods as (

    select distinct
        grain,
        period_start,
        period_end,
        is_period_complete,
        cast(period_start as {{ dbt.type_timestamp() }}) as period_starts_at,
        cast({{ flowmart_add_days('period_end', 1) }} as {{ dbt.type_timestamp() }}) as period_ends_at

    from {{ ref('int_flow_scope_periods') }}
    where grain in ('month', 'quarter')

),

clock as (

    select {{ flowmart_now() }} as now_at

),

windows as (

    select
        links.*,
        coalesce(links.closed_at, clock.now_at) as window_ends_at

    from links
    cross join clock

),

link_periods as (

    select
        windows.blocking_team,
        windows.blocking_value_stream,
        windows.blocked_team,
        windows.blocked_value_stream,
        periods.grain,
        periods.period_start,
        count(*) as dependencies,
        -- open at the end of the period (of today, for the current period)
        sum(case
            when windows.opened_at <= least(periods.period_ends_at, clock.now_at)
                and (windows.closed_at is null or windows.closed_at > least(periods.period_ends_at, clock.now_at))
                then 1 else 0
        end) as dependencies_open_at_period_end,
        count(distinct windows.blocked_issue_id) as blocked_items

    from windows
    cross join clock
    inner join periods
        on windows.opened_at < periods.period_ends_at
        and windows.window_ends_at > periods.period_starts_at

    group by 1, 2, 3, 4, 5, 6

),

-- an item blocked by several items of one team: one window, from the first opening to the last closing
blocked_windows as (

    select
        blocking_team,
        blocking_value_stream,
        blocked_team,
        blocked_value_stream,
        blocked_issue_id,
        min(opened_at) as opened_at,
        max(window_ends_at) as window_ends_at

    from windows
    group by 1, 2, 3, 4, 5

),

waiting_periods as (

    select
        status_periods.issue_id,
        status_periods.started_at,
        coalesce(status_periods.ended_at, clock.now_at) as ended_at

    from {{ ref('int_status_periods_classified') }} as status_periods
    cross join clock
    where status_periods.flow_state = 'waiting'
        and status_periods.issue_id in (select blocked_issue_id from blocked_windows)

),

-- the blocked item's waiting while the other team's item was open, cut by the period's bounds
blocked_waits as (

    select
        blocked_windows.blocking_team,
        blocked_windows.blocked_team,
        periods.grain,
        periods.period_start,
        greatest(waiting_periods.started_at, blocked_windows.opened_at, periods.period_starts_at) as wait_start,
        least(waiting_periods.ended_at, blocked_windows.window_ends_at, periods.period_ends_at) as wait_end

    from blocked_windows
    inner join waiting_periods
        on blocked_windows.blocked_issue_id = waiting_periods.issue_id
        and waiting_periods.started_at < blocked_windows.window_ends_at
        and waiting_periods.ended_at > blocked_windows.opened_at
    inner join periods
        on waiting_periods.started_at < periods.period_ends_at
        and waiting_periods.ended_at > periods.period_starts_at

),

waits_by_period as (

    select
        blocking_team,
        blocked_team,
        grain,
        period_start,
        sum({{ flowmart_days_between('wait_start', 'wait_end') }}) as blocked_waiting_days

    from blocked_waits
    where wait_end > wait_start
    group by 1, 2, 3, 4

),

combined as (

    select
        link_periods.*,
        periods.period_end,
        periods.is_period_complete,
        coalesce(waits_by_period.blocked_waiting_days, 0.0) as blocked_waiting_days

    from link_periods
    inner join periods
        on link_periods.grain = periods.grain
        and link_periods.period_start = periods.period_start
    left join waits_by_period
        on link_periods.blocking_team = waits_by_period.blocking_team
        and link_periods.blocked_team = waits_by_period.blocked_team
        and link_periods.grain = waits_by_period.grain
        and link_periods.period_start = waits_by_period.period_start

)

select
    cast(blocking_team as {{ flowmart_string() }}) as blocking_team,
    cast(blocking_value_stream as {{ flowmart_string() }}) as blocking_value_stream,
    cast(blocked_team as {{ flowmart_string() }}) as blocked_team,
    cast(blocked_value_stream as {{ flowmart_string() }}) as blocked_value_stream,
    cast(grain as {{ flowmart_string() }}) as grain,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(is_period_complete as boolean) as is_period_complete,
    cast(dependencies as integer) as dependencies,
    cast(dependencies_open_at_period_end as integer) as dependencies_open_at_period_end,
    cast(blocked_items as integer) as blocked_items,
    cast(blocked_waiting_days as {{ flowmart_double() }}) as blocked_waiting_days,
    cast(rank() over (partition by grain, period_start order by blocked_waiting_days desc) as integer)
        as blocked_time_rank

from combined
