{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='issue_id',
        indexes=flowmart_postgres_indexes([['issue_id'], ['last_updated_at']]),
        on_schema_change='fail',
        meta={'flowmart_changed_columns': ['last_updated_at'], 'flowmart_superseded_watermark': 'last_updated_at'},
        pre_hook=["{{ flowmart_delete_completions_superseded(this) }}"],
    )
}}

{#- One row per completed work item (ended done, not canceled) of a known team, with its flow figures.
    Incremental: a run rewrites the items updated since the last one; its pre-hook first deletes the items
    whose completed state a run superseded since (int_work_items_superseded: reopened, canceled, moved,
    deleted, out of scope), so those no longer completed are gone. -#}
{%- do ref('int_work_items_superseded') %}
with

work_items as (

    select * from {{ ref('int_work_items_measured') }}
    where
        is_completed
        {% if is_incremental() -%}
        and {{ flowmart_changed_since_last_run('item_updated_at', this, 'last_updated_at') }}
        {%- endif %}

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
    cast(work_items.flow_time_hours as double precision) as flow_time_hours,
    cast(work_items.active_time_hours as double precision) as active_time_hours,
    cast(work_items.wait_time_hours as double precision) as wait_time_hours,
    cast(work_items.lead_time_hours as double precision) as lead_time_hours,
    cast(work_items.flow_time_hours / 24.0 as double precision) as flow_time_days,
    cast(
        case when work_items.is_started and work_items.flow_time_hours > 0
            then 100.0 * work_items.active_time_hours / work_items.flow_time_hours end
        as double precision
    ) as flow_efficiency_pct,
    work_items.item_updated_at as last_updated_at

from work_items
inner join teams
    on work_items.team = teams.team
