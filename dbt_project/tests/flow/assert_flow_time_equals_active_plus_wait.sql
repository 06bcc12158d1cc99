-- Flow time = active time + wait time for every completed item, and both agree with the status history:
-- the status periods between work start and work end add up to the flow time, the active ones to the
-- active time (tolerance 0.001 h for floating-point sums). Daily runs check the changed items (flowmart_test_scope).
with

completed as (

    select * from {{ flowmart_changed_rows(ref('completed_work_items'), 'last_updated_at') }} as completed_items

),

periods_in_flow as (

    select
        completed.issue_id,
        sum(status_periods.duration_hours) as period_hours,
        sum(case when status_periods.flow_state = 'active' then status_periods.duration_hours else 0 end)
            as active_period_hours

    from completed
    inner join {{ ref('int_status_periods_classified') }} as status_periods
        on completed.issue_id = status_periods.issue_id
        and status_periods.started_at >= completed.work_started_at
        and status_periods.started_at < completed.completed_at

    group by completed.issue_id

)

select
    completed.issue_id,
    completed.flow_time_hours,
    completed.active_time_hours,
    completed.wait_time_hours,
    periods_in_flow.period_hours,
    periods_in_flow.active_period_hours

from completed
left join periods_in_flow
    on completed.issue_id = periods_in_flow.issue_id

where
    abs(completed.flow_time_hours - (completed.active_time_hours + completed.wait_time_hours)) > 0.001
    or abs(completed.flow_time_hours - coalesce(periods_in_flow.period_hours, 0)) > 0.001
    or abs(completed.active_time_hours - coalesce(periods_in_flow.active_period_hours, 0)) > 0.001
