-- One row per work item with its flow figures from the complete status history (see the model's
-- description and the docs blocks of the flow metrics, models/docs/flow_metrics.md).
with

owned_items as (

    select * from {{ ref('int_work_items_owned') }}

),

-- resolutions that cancel an item, matched without case (as status names are)
canceled_resolutions as (

    select distinct lower(resolution) as resolution_key from {{ ref('stg_org__canceled_resolutions') }}

),

-- every live item: work items and incidents (the flow's scope, flowmart_flow_item_roles), and the epics and
-- initiatives, whose start, completion and cancelation the outcome models read with the same definitions
work_items as (

    select * from owned_items

),

status_periods as (

    select
        status_periods.*,
        status_periods.flow_state in ('done', 'canceled') as is_terminal,
        lag(status_periods.flow_state) over (
            partition by status_periods.issue_id order by status_periods.period_index
        ) as previous_flow_state

    from {{ ref('int_status_periods_classified') }} as status_periods
    inner join work_items
        on status_periods.issue_id = work_items.issue_id

),

period_summary as (

    select
        issue_id,
        count(*) as status_period_count,
        max(period_index) as last_period_index,
        -- the last period before the final run of done/canceled periods (null: terminal from creation)
        max(case when not is_terminal then period_index end) as last_open_period_index,
        -- work start: first entry into active or waiting
        min(case when flow_state in ('active', 'waiting') then started_at end) as work_started_at,
        sum(case when is_terminal then 0 when previous_flow_state in ('done', 'canceled') then 1 else 0 end)
            as reopen_count

    from status_periods
    group by issue_id

),

-- work end: the entry into the final run of done/canceled periods (the last entry into done)
work_ends as (

    select
        period_summary.*,
        case when period_summary.last_open_period_index is null or period_summary.last_open_period_index
            < period_summary.last_period_index then terminal_entry.started_at end as work_ended_at

    from period_summary
    left join status_periods as terminal_entry
        on period_summary.issue_id = terminal_entry.issue_id
        and terminal_entry.period_index = coalesce(period_summary.last_open_period_index + 1, 0)

),

-- active time between work start and work end: every active period lies before the final terminal run
active_times as (

    select
        status_periods.issue_id,
        sum(status_periods.duration_days) as active_days

    from status_periods
    inner join work_ends
        on status_periods.issue_id = work_ends.issue_id

    where
        status_periods.flow_state = 'active'
        and work_ends.work_ended_at is not null
        and status_periods.started_at < work_ends.work_ended_at

    group by status_periods.issue_id

),

classified as (

    select
        work_items.issue_id,
        work_items.issue_key,
        work_items.project_key,
        work_items.issue_type,
        work_items.item_role,
        work_items.flow_item_type,
        work_items.team,
        work_items.value_stream,
        work_items.resolution,
        work_items.created_at,
        current_period.status_name as current_status_name,
        current_period.flow_state as current_flow_state,
        current_period.started_at as current_status_since,
        work_ends.status_period_count,
        work_ends.reopen_count,
        work_ends.work_started_at,
        work_ends.work_ended_at,
        coalesce(active_times.active_days, 0) as active_days_to_end,
        work_ends.work_ended_at is not null
        and (
            current_period.flow_state = 'canceled'
            or canceled_resolutions.resolution_key is not null
        ) as is_canceled

    from work_items
    inner join work_ends
        on work_items.issue_id = work_ends.issue_id
    inner join status_periods as current_period
        on work_ends.issue_id = current_period.issue_id
        and work_ends.last_period_index = current_period.period_index
    left join active_times
        on work_items.issue_id = active_times.issue_id
    left join canceled_resolutions
        on lower(work_items.resolution) = canceled_resolutions.resolution_key

),

measured as (

    select
        classified.*,
        work_ended_at is not null and not is_canceled as is_completed,
        work_started_at is not null and work_ended_at is null as is_in_progress,
        -- flow time is known for completed items that were started; an item done without ever being
        -- started has none (it counts in velocity, as completed_without_start)
        case when work_ended_at is not null and not is_canceled and work_started_at is not null then
            {{ flowmart_days_between('work_started_at', 'work_ended_at') }}
        end as flow_time_days,
        -- active time never exceeds flow time (guards against rounding of summed period durations)
        case when work_ended_at is not null and not is_canceled and work_started_at is not null then
            least(active_days_to_end, {{ flowmart_days_between('work_started_at', 'work_ended_at') }})
        end as active_time_days

    from classified

)

select
    issue_id,
    issue_key,
    project_key,
    issue_type,
    item_role,
    flow_item_type,
    team,
    value_stream,
    resolution,
    created_at,
    current_status_name,
    current_flow_state,
    current_status_since,
    cast(status_period_count as integer) as status_period_count,
    cast(reopen_count as integer) as reopen_count,
    work_started_at,
    work_ended_at,
    case when is_completed then work_ended_at end as completed_at,
    case when is_canceled then work_ended_at end as canceled_at,
    work_started_at is not null as is_started,
    is_completed,
    is_completed and work_started_at is null as is_completed_without_start,
    is_canceled,
    is_in_progress,
    flow_time_days,
    active_time_days,
    flow_time_days - active_time_days as wait_time_days,
    -- the one definition of flow efficiency: active time ÷ flow time; a period's is the flow-time-weighted
    -- mean of its items', which is Σ active ÷ Σ flow (int_flow_completions_by_period)
    100.0 * active_time_days / nullif(flow_time_days, 0) as flow_efficiency_pct,
    case when is_completed then
        case when work_ended_at < created_at then 0.0
            else {{ flowmart_days_between('created_at', 'work_ended_at') }} end
    end as lead_time_days,
    -- in the daily WIP snapshot (taken at the end of each UTC day) from the day work started up to the
    -- day before work ended; open items have no last day
    cast(work_started_at as date) as wip_first_day,
    case when work_started_at is not null and work_ended_at is not null then
        {{ flowmart_add_days('cast(work_ended_at as date)', -1) }}
    end as wip_last_day

from measured
