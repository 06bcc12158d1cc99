{#- One row per visit of a work item to a step of its value stream's map (a status period in a step status),
    with its active and waiting time, where the item went next and whether it came back later (rework). -#}
with

flow_items as (

    select issue_id, team, value_stream from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }} and team is not null and not is_canceled

),

steps as (

    select * from {{ ref('int_value_stream_steps_ordered') }}

),

step_counts as (

    select value_stream, max(step_position) as last_step_position from steps group by value_stream

),

-- the periods placed on the map: a step's position, or after the last step for a done (or canceled) state;
-- the other statuses (backlog, and active or waiting statuses that are not steps) are off the map
positioned_periods as (

    select
        status_periods.issue_id,
        flow_items.team,
        flow_items.value_stream,
        status_periods.period_index,
        status_periods.status_name,
        status_periods.flow_state,
        status_periods.started_at,
        status_periods.ended_at,
        status_periods.duration_days,
        steps.step_position,
        steps.step_status,
        coalesce(steps.step_position, step_counts.last_step_position + 1) as map_position

    from {{ ref('int_status_periods_classified') }} as status_periods
    inner join flow_items
        on status_periods.issue_id = flow_items.issue_id
    inner join step_counts
        on flow_items.value_stream = step_counts.value_stream
    left join steps
        on flow_items.value_stream = steps.value_stream
        and lower(status_periods.status_name) = steps.step_key

    where steps.step_position is not null or status_periods.flow_state in ('done', 'canceled')

),

sequenced as (

    select
        positioned_periods.*,
        -- the next status on the map (statuses off the map in between are skipped)
        lead(positioned_periods.map_position) over (
            partition by positioned_periods.issue_id order by positioned_periods.period_index
        ) as next_map_position,
        lead(positioned_periods.status_name) over (
            partition by positioned_periods.issue_id order by positioned_periods.period_index
        ) as next_status_name,
        -- the earliest step entered at any later time (a return to this step or an earlier one is rework)
        min(positioned_periods.step_position) over (
            partition by positioned_periods.issue_id order by positioned_periods.period_index
            rows between 1 following and unbounded following
        ) as later_min_step_position

    from positioned_periods

)

select
    issue_id || '-' || cast(period_index as {{ dbt.type_string() }}) as step_visit_id,
    issue_id,
    cast(team as {{ flowmart_string() }}) as team,
    cast(value_stream as {{ flowmart_string() }}) as value_stream,
    cast(step_position as integer) as step_position,
    cast(step_status as {{ flowmart_string() }}) as step_status,
    cast(period_index as integer) as period_index,
    cast(status_name as {{ flowmart_string() }}) as status_name,
    cast(flow_state as {{ flowmart_string() }}) as flow_state,
    started_at,
    ended_at,
    cast(ended_at as date) as left_date,
    duration_days,
    -- the visit's days by the status's flow state (null while the visit is open)
    case when flow_state = 'active' then duration_days else duration_days * 0.0 end as active_days,
    case when flow_state = 'active' then duration_days * 0.0 else duration_days end as waiting_days,
    cast(next_status_name as {{ flowmart_string() }}) as next_status_name,
    cast(case
        when ended_at is null then 'open'
        when next_map_position is null then 'off_map'
        when next_map_position > step_position then 'forward'
        when next_map_position < step_position then 'backward'
        else 'same_step'
    end as {{ flowmart_string() }}) as exit_direction,
    coalesce(later_min_step_position <= step_position, false) as is_returned_later

from sequenced

where step_position is not null
