-- No negative durations: status periods, flow / active / wait / lead times, ages and waiting times are >= 0.
-- Daily runs check the changed items of the big tables (flowmart_test_scope).
with

status_periods as (
    select * from {{ flowmart_changed_rows(ref('int_status_periods_classified'), 'item_updated_at') }} as changed
),

completed_items as (
    select * from {{ flowmart_changed_rows(ref('completed_work_items'), 'last_updated_at') }} as changed
)

select 'status period' as what, status_period_id as id, duration_hours as hours
from status_periods
where duration_hours < 0

union all

select 'flow time', issue_id, flow_time_hours from completed_items where flow_time_hours < 0
union all
select 'active time', issue_id, active_time_hours from completed_items where active_time_hours < 0
union all
select 'wait time', issue_id, wait_time_hours from completed_items where wait_time_hours < 0
union all
select 'lead time', issue_id, lead_time_hours from completed_items where lead_time_hours < 0
union all
select 'age', issue_id, age_days * 24 from {{ ref('aging_work_in_progress') }} where age_days < 0
union all
select 'waiting', team || ' ' || coalesce(status_name, ''), wait_hours
from {{ ref('flow_waiting_time_by_status') }}
where wait_hours < 0
