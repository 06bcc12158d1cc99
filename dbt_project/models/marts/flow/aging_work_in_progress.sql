{#- Aging work in progress: every item in progress now (started, not done or canceled) of a known team,
    its age since work start, and whether it is older than 90 days or than its team's p85 flow time
    (over the items the team completed in the 3 months before now). -#}
with

work_items as (

    select * from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }}

),

teams as (

    select * from {{ ref('stg_org__teams') }}

),

in_progress as (

    select
        work_items.*,
        teams.value_stream as team_value_stream,
        -- never negative, should the data be newer than a pinned reporting clock
        greatest({{ flowmart_days_between('work_items.work_started_at', flowmart_now()) }}, 0.0) as age_days,
        greatest({{ flowmart_days_between('work_items.current_status_since', flowmart_now()) }}, 0.0)
            as days_in_current_status

    from work_items
    inner join teams
        on work_items.team = teams.team

    where work_items.is_in_progress

),

team_flow_times as (

    select
        team,
        {{ flowmart_percentile('flow_time_days', 0.85) }} as flow_time_p85_days

    from work_items

    where
        is_completed
        and completed_at >= {{ dbt.dateadd('month', -3, flowmart_now()) }}

    group by team

),

flagged as (

    select
        in_progress.*,
        team_flow_times.flow_time_p85_days as team_flow_time_p85_days,
        in_progress.age_days > 90 as is_older_than_90_days,
        coalesce(in_progress.age_days > team_flow_times.flow_time_p85_days, false) as is_older_than_team_p85

    from in_progress
    left join team_flow_times
        on in_progress.team = team_flow_times.team

)

select
    issue_id,
    issue_key,
    project_key,
    issue_type,
    item_role,
    flow_item_type,
    team,
    team_value_stream as value_stream,
    current_status_name,
    current_flow_state,
    created_at,
    work_started_at,
    current_status_since,
    cast(age_days as {{ flowmart_double() }}) as age_days,
    cast(days_in_current_status as {{ flowmart_double() }}) as days_in_current_status,
    cast(team_flow_time_p85_days as {{ flowmart_double() }}) as team_flow_time_p85_days,
    is_older_than_90_days,
    is_older_than_team_p85,
    cast(count(*) over (partition by team) as integer) as team_items_in_progress,
    cast(
        100.0 * sum(case when is_older_than_90_days then 1 else 0 end) over (partition by team)
        / count(*) over (partition by team)
        as {{ flowmart_double() }}
    ) as team_share_older_than_90_days_pct

from flagged
