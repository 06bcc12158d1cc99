{#- Helpers of the incremental flow models (status periods, work items, daily WIP). -#}

{#- The work items the flow metrics are computed over: tracker work items and incidents. Epics and
    initiatives are containers (their flow is the flow of their children) and are left out. -#}
{% macro flowmart_flow_item_roles() -%}
    ('work_item', 'incident')
{%- endmacro %}

{#- The issues to (re)compute in an incremental run: updated since the newest `item_updated_at` already
    stored in `relation`, minus a lookback (var `flow_lookback_days`, default 3) for late-arriving loads.
    Renders a boolean condition on the column `updated_at_column`. -#}
{% macro flowmart_changed_since_last_run(updated_at_column, relation) -%}
    {{ updated_at_column }} > (
        select {{ dbt.dateadd('day', -1 * var('flow_lookback_days', 3),
            "coalesce(max(item_updated_at), cast('1900-01-01 00:00:00' as timestamp))") }}
        from {{ relation }}
    )
{%- endmacro %}

{#- Post-hook: remove the rows of issues that left the scope (deleted in the tracker, or no longer a
    work item), which an incremental delete+insert on the changed issues would otherwise keep. -#}
{% macro flowmart_delete_issues_out_of_scope(relation) -%}
    delete from {{ relation }}
    where issue_id not in (
        select issue_id from {{ ref('int_work_items_owned') }}
        where item_role in {{ flowmart_flow_item_roles() }}
    )
{%- endmacro %}

{#- Post-hook of the daily WIP snapshot: remove the days an item is no longer in progress on (or an item
    that left the scope), which a delete+insert on (issue_id, snapshot_date) would otherwise keep. -#}
{% macro flowmart_delete_stale_wip_days(relation) -%}
    delete from {{ relation }}
    where (issue_id, snapshot_date) in (
        select wip_days.issue_id, wip_days.snapshot_date
        from {{ relation }} as wip_days
        left join {{ ref('int_work_items_measured') }} as work_items
            on wip_days.issue_id = work_items.issue_id
            and wip_days.snapshot_date >= work_items.wip_first_day
            and (work_items.wip_last_day is null or wip_days.snapshot_date <= work_items.wip_last_day)
        where work_items.issue_id is null
    )
{%- endmacro %}
