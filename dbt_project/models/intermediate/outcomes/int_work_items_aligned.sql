{#- One row per completed work item (the flow's scope) of a team: the key result and objective its work serves
    (docs block aligned_work) and its share of the team's monthly cost (docs block allocated_cost). -#}
with

completed as (

    select * from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }} and is_completed and team is not null

),

owned_items as (

    select issue_id, parent_issue_id from {{ ref('int_work_items_owned') }}

),

epics as (

    select * from {{ ref('int_epics_assessed') }}

),

teams as (

    select * from {{ ref('stg_org__teams') }}

),

-- the key result of the item's epic when the catalogue holds it, else that of the epic's own parent
-- (an initiative)
aligned as (

    select
        completed.issue_id,
        completed.issue_key,
        completed.team,
        completed.value_stream,
        completed.flow_item_type,
        completed.completed_at,
        coalesce(completed.active_time_days, 0.0) as active_time_days,
        owned_items.parent_issue_id as epic_issue_id,
        case
            when parent_epic.is_key_result_in_catalogue then parent_epic.key_result_id
            when grandparent_epic.is_key_result_in_catalogue then grandparent_epic.key_result_id
        end as key_result_id,
        case
            when parent_epic.is_key_result_in_catalogue then parent_epic.objective_id
            when grandparent_epic.is_key_result_in_catalogue then grandparent_epic.objective_id
        end as objective_id,
        {{ dbt.date_trunc('month', 'cast(completed.completed_at as ' ~ dbt.type_timestamp() ~ ')') }}
            as completed_month

    from completed
    left join owned_items
        on completed.issue_id = owned_items.issue_id
    left join epics as parent_epic
        on owned_items.parent_issue_id = parent_epic.issue_id
    left join epics as grandparent_epic
        on parent_epic.parent_issue_id = grandparent_epic.issue_id

),

team_months as (

    select
        team,
        completed_month,
        sum(active_time_days) as team_active_time_days

    from aligned
    group by team, completed_month

)

select
    aligned.issue_id,
    aligned.issue_key,
    aligned.team,
    aligned.value_stream,
    aligned.flow_item_type,
    aligned.completed_at,
    cast(aligned.active_time_days as {{ flowmart_double() }}) as active_time_days,
    aligned.epic_issue_id,
    aligned.key_result_id,
    aligned.objective_id,
    aligned.key_result_id is not null as is_aligned,
    cast(
        teams.monthly_cost * aligned.active_time_days / nullif(team_months.team_active_time_days, 0)
        as {{ flowmart_double() }}
    ) as allocated_cost

from aligned
inner join team_months
    on aligned.team = team_months.team
    and aligned.completed_month = team_months.completed_month
left join teams
    on aligned.team = teams.team
