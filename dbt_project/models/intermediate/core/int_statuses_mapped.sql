{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_key', 'status_id'],
        on_schema_change='fail',
    )
}}

-- Every (project, status) seen in the data with its flow state: the project's own mapping first, then the
-- '*' mapping, else the Jira status-category fallback (new -> backlog, indeterminate -> active, done ->
-- done). `is_mapped = false` marks a fallback; a warning test reports them. Canceled is decided per item
-- from its resolution, not here.
-- Incremental: the statuses seen so far are kept (`seen_status_name`, `last_seen_updated_at`); a run adds
-- those of the issues updated since and maps every one again, so a mapping change applies at once.
{%- if is_incremental() %}
    {%- set watermark = flowmart_last_run_watermark(this, 'last_seen_updated_at') %}
    {%- set load_bound = flowmart_oldest_load_of_issues_updated_after(watermark) %}
{%- endif %}

with

issues as (
    select issue_id, project_key, status_id, status, updated_at from {{ ref('stg_jira__issues') }}
    {% if is_incremental() -%}
    where updated_at > {{ watermark }} and {{ flowmart_loaded_since('loaded_at', load_bound) }}
    {%- endif %}
),

-- the status changes of those issues, joined once (the changelog is the biggest table read here)
status_changes as (
    select
        issues.project_key,
        issues.updated_at,
        changelog_items.from_value,
        changelog_items.from_string,
        changelog_items.to_value,
        changelog_items.to_string
    from {{ ref('stg_jira__changelog_items') }} as changelog_items
    inner join issues on issues.issue_id = changelog_items.issue_id
    where
        changelog_items.field = 'status'
        {% if is_incremental() -%}
        and {{ flowmart_loaded_since('changelog_items.loaded_at', load_bound) }}
        {%- endif %}
),

seen as (
    select project_key, status_id, status as status_name, updated_at from issues
    union all
    select project_key, from_value, from_string, updated_at from status_changes
    union all
    select project_key, to_value, to_string, updated_at from status_changes
    {% if is_incremental() -%}
    union all
    select project_key, status_id, seen_status_name, last_seen_updated_at from {{ this }}
    {%- endif %}
),

distinct_seen as (
    select project_key, status_id, max(status_name) as status_name, max(updated_at) as last_seen_updated_at
    from seen
    where status_id is not null
    group by project_key, status_id
),

catalogue as (
    select * from {{ ref('stg_jira__statuses') }}
),

mappings as (
    select project_key, lower(status_name) as status_key, flow_state from {{ ref('stg_org__status_mappings') }}
),

final as (
    select
        distinct_seen.project_key,
        distinct_seen.status_id,
        coalesce(catalogue.status_name, distinct_seen.status_name) as status_name,
        coalesce(catalogue.status_category, 'indeterminate') as status_category,
        coalesce(
            project_mapping.flow_state,
            any_project_mapping.flow_state,
            case coalesce(catalogue.status_category, 'indeterminate')
                when 'new' then 'backlog'
                when 'done' then 'done'
                else 'active'
            end
        ) as flow_state,
        (project_mapping.flow_state is not null or any_project_mapping.flow_state is not null) as is_mapped,
        distinct_seen.status_name as seen_status_name,
        distinct_seen.last_seen_updated_at
    from distinct_seen
    left join catalogue on catalogue.status_id = distinct_seen.status_id
    left join mappings as project_mapping
        on project_mapping.project_key = distinct_seen.project_key
        and project_mapping.status_key = lower(coalesce(catalogue.status_name, distinct_seen.status_name))
    left join mappings as any_project_mapping
        on any_project_mapping.project_key = '*'
        and any_project_mapping.status_key = lower(coalesce(catalogue.status_name, distinct_seen.status_name))
)

select * from final
