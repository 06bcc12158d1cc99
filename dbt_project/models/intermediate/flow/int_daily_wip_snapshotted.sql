{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['issue_id', 'snapshot_date'],
        indexes=flowmart_postgres_indexes([['issue_id', 'snapshot_date'], ['item_updated_at']]),
        on_schema_change='fail',
        meta={'flowmart_changed_columns': ['item_updated_at', 'snapshot_date']},
        post_hook=["{{ flowmart_delete_stale_wip_days(this) }}"],
    )
}}

{#- One row per UTC day and work item in progress at the end of that day, for every complete day (the
    current day is snapshotted once it is over). An incremental run recomputes every day of the items
    changed since the last run and adds the new days of every item; the post-hook removes days an item
    no longer has (e.g. an item that left the scope), so the result equals a full refresh. -#}

with

work_items as (

    select * from {{ ref('int_work_items_measured') }}
    where wip_first_day is not null

),

{% if is_incremental() -%}
last_run as (

    select
        ({{ flowmart_last_run_watermark(this) }}) as changed_since,
        coalesce(max(snapshot_date), cast('1900-01-01' as date)) as last_snapshot_date

    from {{ this }}

),
{%- endif %}

items_to_snapshot as (

    select
        work_items.issue_id,
        work_items.team,
        work_items.value_stream,
        work_items.flow_item_type,
        work_items.item_updated_at,
        work_items.wip_first_day,
        work_items.wip_last_day,
        {% if is_incremental() -%}
        -- changed items get all their days again; the others only the days after the last snapshot
        case when work_items.item_updated_at > last_run.changed_since then work_items.wip_first_day
            else {{ flowmart_add_days('last_run.last_snapshot_date', 1) }} end as first_day_to_write
        {%- else -%}
        work_items.wip_first_day as first_day_to_write
        {%- endif %}

    from work_items
    {% if is_incremental() -%}
    cross join last_run
    where
        work_items.item_updated_at > last_run.changed_since
        or work_items.wip_last_day is null
        or work_items.wip_last_day > last_run.last_snapshot_date
    {%- endif %}

),

bounds as (

    select
        min(first_day_to_write) as spine_start,
        -- the last complete UTC day
        {{ flowmart_add_days('cast(' ~ flowmart_now() ~ ' as date)', -1) }} as spine_end

    from items_to_snapshot

)
{%- if target.type != 'postgres' %},

days as (

    {{ flowmart_day_spine('bounds') }}

)
{%- endif %}

select
    {% if target.type == 'postgres' -%}
    cast(item_days.spine_day as date) as snapshot_date,
    {%- else -%}
    days.spine_day as snapshot_date,
    {%- endif %}
    items_to_snapshot.issue_id,
    items_to_snapshot.team,
    items_to_snapshot.value_stream,
    items_to_snapshot.flow_item_type,
    items_to_snapshot.item_updated_at

from items_to_snapshot
{% if target.type == 'postgres' -%}
{#- PostgreSQL joins items to a day spine on these ranges with a nested loop (every item against every day:
    135 s of a full build at sample scale 50); each item's own days are generated instead. -#}
cross join bounds
cross join lateral generate_series(
    cast(greatest(items_to_snapshot.first_day_to_write, items_to_snapshot.wip_first_day) as timestamp),
    cast(least(coalesce(items_to_snapshot.wip_last_day, bounds.spine_end), bounds.spine_end) as timestamp),
    interval '1 day'
) as item_days (spine_day)
{%- else -%}
inner join days
    on days.spine_day >= items_to_snapshot.first_day_to_write
    and days.spine_day >= items_to_snapshot.wip_first_day
    and (items_to_snapshot.wip_last_day is null or days.spine_day <= items_to_snapshot.wip_last_day)
{%- endif %}
