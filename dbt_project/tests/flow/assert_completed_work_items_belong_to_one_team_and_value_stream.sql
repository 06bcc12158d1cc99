-- Every completed item belongs to exactly one team and value stream: one row per item in
-- completed_work_items, with a team of the org config and that team's value stream, and every completed
-- item of a known team of the measured work items is there.
with

completed as (

    select * from {{ ref('completed_work_items') }} as completed_items

),

teams as (

    select * from {{ ref('stg_org__teams') }}

),

duplicated as (

    select issue_id, 'appears ' || cast(count(*) as {{ flowmart_string() }}) || ' times' as problem
    from completed
    group by issue_id
    having count(*) > 1

),

wrong_owner as (

    select completed.issue_id, 'team/value stream not of the org config' as problem
    from completed
    left join teams
        on completed.team = teams.team
        and completed.value_stream = teams.value_stream
    where teams.team is null

),

missing as (

    select work_items.issue_id, 'completed but missing' as problem
    from {{ ref('int_work_items_measured') }} as work_items
    inner join teams
        on work_items.team = teams.team
    left join completed
        on work_items.issue_id = completed.issue_id
    where work_items.item_role in {{ flowmart_flow_item_roles() }} and work_items.is_completed and completed.issue_id is null

)

select * from duplicated
union all
select * from wrong_owner
union all
select * from missing
