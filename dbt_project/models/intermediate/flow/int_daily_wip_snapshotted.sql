{#- One row per UTC day and work item in progress at the end of that day (Flow Load), for every complete
    day: from the day work started to the day before work ended, or to yesterday while the item is open
    (today is snapshotted once it is over). Each item's own days are generated (a range join of items to a
    day spine runs as a nested loop on PostgreSQL). -#}
with

work_items as (

    select * from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }} and wip_first_day is not null

),

last_complete_day as (

    select {{ flowmart_add_days('cast(' ~ flowmart_now() ~ ' as date)', -1) }} as snapshot_end

)

select
    cast(item_days.snapshot_day as date) as snapshot_date,
    work_items.issue_id,
    work_items.team,
    work_items.value_stream,
    work_items.flow_item_type

from work_items
cross join last_complete_day
{{ flowmart_each_day(
    'work_items.wip_first_day',
    'case when work_items.wip_last_day is null or work_items.wip_last_day > last_complete_day.snapshot_end '
    ~ 'then last_complete_day.snapshot_end else work_items.wip_last_day end',
    'item_days', 'snapshot_day'
) }}
