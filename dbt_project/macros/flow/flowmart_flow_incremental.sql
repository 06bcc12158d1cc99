{#- Helpers of the incremental flow models (status periods, work items, daily WIP). -#}

{#- The work items the flow metrics are computed over: tracker work items and incidents. Epics and
    initiatives are containers (their flow is the flow of their children) and are left out. -#}
{% macro flowmart_flow_item_roles() -%}
    ('work_item', 'incident')
{%- endmacro %}

{#- The issues to (re)compute in an incremental run: updated since the newest `stored_column` (an instant of
    the tracker's last update) already stored in `relation`, minus a lookback (var `flow_lookback_days`,
    default 3) for late-arriving loads. Renders a boolean condition on the column `updated_at_column`. -#}
{% macro flowmart_changed_since_last_run(updated_at_column, relation, stored_column='item_updated_at') -%}
    {{ updated_at_column }} > ({{ flowmart_last_run_watermark(relation, stored_column) }})
{%- endmacro %}

{#- The watermark of an incremental run as a scalar subquery: the newest `stored_column` in `relation` minus
    the lookback (var `flow_lookback_days`, default 3); 1900-01-01 for an empty relation. -#}
{% macro flowmart_last_run_watermark(relation, stored_column='item_updated_at') -%}
    select {{ dbt.dateadd('day', -1 * var('flow_lookback_days', 3),
        "coalesce(max(" ~ stored_column ~ "), cast('1900-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ "))") }}
    from {{ relation }}
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

{#- Post-hook of the owned work items: remove the issues that are no longer live (deleted in the tracker, or
    gone from the raw data after a full reload). -#}
{% macro flowmart_delete_issues_no_longer_live(relation) -%}
    delete from {{ relation }}
    where issue_id not in (
        select issue_id from {{ ref('stg_jira__issues') }} where not is_deleted
    )
{%- endmacro %}

{#- Post-hook of completed_work_items: remove the items that are no longer completed by a team of the org
    config (reopened, canceled, deleted or out of scope since they were written). -#}
{% macro flowmart_delete_items_no_longer_completed(relation) -%}
    delete from {{ relation }}
    where issue_id not in (
        select work_items.issue_id
        from {{ ref('int_work_items_measured') }} as work_items
        inner join {{ ref('stg_org__teams') }} as teams
            on work_items.team = teams.team
        where work_items.is_completed
    )
{%- endmacro %}

{#- Post-hook of int_flow_waits_daily: remove the days of a team left without any completed, started item. -#}
{% macro flowmart_delete_stale_wait_days(relation) -%}
    delete from {{ relation }}
    where (team, completed_date) not in (
        select work_items.team, cast(work_items.completed_at as date)
        from {{ ref('int_work_items_measured') }} as work_items
        inner join {{ ref('stg_org__teams') }} as teams
            on work_items.team = teams.team
        where work_items.is_completed and work_items.is_started
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

{#- Post-hook of int_flow_metrics_aggregated: remove the periods that end before the first work item's
    creation (the first item was deleted or left the scope), which a full refresh would not have. -#}
{% macro flowmart_delete_periods_before_first_item(relation) -%}
    delete from {{ relation }}
    where period_end < (
        select min(cast(created_at as date))
        from {{ ref('int_work_items_measured') }}
        where team is not null
    )
{%- endmacro %}
