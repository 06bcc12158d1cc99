{#- One row per completed work item (its final flow state is done) of a team of the org config, with its flow
    figures from int_work_items_measured. -#}
with

work_items as (

    select * from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }} and is_completed

),

teams as (

    select * from {{ ref('stg_org__teams') }}

)

select
    work_items.issue_id,
    work_items.issue_key,
    work_items.project_key,
    work_items.issue_type,
    work_items.item_role,
    work_items.flow_item_type,
    work_items.team,
    teams.value_stream,
    work_items.created_at,
    work_items.work_started_at,
    work_items.completed_at,
    cast(work_items.completed_at as date) as completed_date,
    {{ flowmart_period_start("'week'", 'cast(work_items.completed_at as date)') }} as completed_week,
    {{ flowmart_period_start("'month'", 'cast(work_items.completed_at as date)') }} as completed_month,
    {{ flowmart_period_start("'quarter'", 'cast(work_items.completed_at as date)') }} as completed_quarter,
    work_items.is_started,
    work_items.reopen_count,
    cast(work_items.flow_time_days as {{ flowmart_double() }}) as flow_time_days,
    cast(work_items.active_time_days as {{ flowmart_double() }}) as active_time_days,
    cast(work_items.wait_time_days as {{ flowmart_double() }}) as wait_time_days,
    cast(work_items.flow_efficiency_pct as {{ flowmart_double() }}) as flow_efficiency_pct,
    cast(work_items.lead_time_days as {{ flowmart_double() }}) as lead_time_days

from work_items
inner join teams
    on work_items.team = teams.team
