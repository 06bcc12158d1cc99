-- No negative durations: status periods, flow / active / wait / lead times, ages and waiting times are >= 0.
--
with

status_periods as (
    select * from {{ ref('int_status_periods_classified') }} as changed
),

completed_items as (
    select * from {{ ref('completed_work_items') }} as changed
)

select 'status period' as what, status_period_id as id, duration_days as days
from status_periods
where duration_days < 0

union all

select 'flow time', issue_id, flow_time_days from completed_items where flow_time_days < 0
union all
select 'active time', issue_id, active_time_days from completed_items where active_time_days < 0
union all
select 'wait time', issue_id, wait_time_days from completed_items where wait_time_days < 0
union all
select 'lead time', issue_id, lead_time_days from completed_items where lead_time_days < 0
union all
select 'age', issue_id, age_days from {{ ref('aging_work_in_progress') }} where age_days < 0
union all
select 'waiting', team || ' ' || coalesce(status_name, ''), wait_days
from {{ ref('flow_waiting_time_by_status') }}
where wait_days < 0
