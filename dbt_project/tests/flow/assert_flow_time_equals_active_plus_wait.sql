-- Flow time = active time + wait time for every completed item, and both agree with the status history:
-- the status periods between work start and work end add up to the flow time, the active ones to the
-- active time (tolerance 0.0001 days for floating-point sums).
with

completed as (

    select * from {{ ref('completed_work_items') }} as completed_items

),

periods_in_flow as (

    select
        completed.issue_id,
        sum(status_periods.duration_days) as period_days,
        sum(case when status_periods.flow_state = 'active' then status_periods.duration_days else 0 end)
            as active_period_days

    from completed
    inner join {{ ref('int_status_periods_classified') }} as status_periods
        on completed.issue_id = status_periods.issue_id
        and status_periods.started_at >= completed.work_started_at
        and status_periods.started_at < completed.completed_at

    group by completed.issue_id

)

select
    completed.issue_id,
    completed.flow_time_days,
    completed.active_time_days,
    completed.wait_time_days,
    periods_in_flow.period_days,
    periods_in_flow.active_period_days

from completed
left join periods_in_flow
    on completed.issue_id = periods_in_flow.issue_id

where
    abs(completed.flow_time_days - (completed.active_time_days + completed.wait_time_days)) > 0.0001
    or abs(completed.flow_time_days - coalesce(periods_in_flow.period_days, 0)) > 0.0001
    or abs(completed.active_time_days - coalesce(periods_in_flow.active_period_days, 0)) > 0.0001
