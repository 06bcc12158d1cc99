-- Every (project, status) seen in the data with its flow state: the project's own mapping first, then the
-- '*' mapping, else the Jira status-category fallback (new -> backlog, indeterminate -> active, done ->
-- done). `is_mapped = false` marks a fallback; a warning test reports them. Canceled is decided per item
-- from its resolution, not here.
with

issues as (
    select issue_id, project_key, status_id, status from {{ ref('stg_jira__issues') }}
),

status_changes as (
    select
        issues.project_key,
        changelog_items.from_value,
        changelog_items.from_string,
        changelog_items.to_value,
        changelog_items.to_string
    from {{ ref('stg_jira__changelog_items') }} as changelog_items
    inner join issues on issues.issue_id = changelog_items.issue_id
    where changelog_items.field = 'status'
),

seen as (
    select project_key, status_id, status as status_name from issues
    union all
    select project_key, from_value, from_string from status_changes
    union all
    select project_key, to_value, to_string from status_changes
),

distinct_seen as (
    select project_key, status_id, max(status_name) as status_name
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
        (project_mapping.flow_state is not null or any_project_mapping.flow_state is not null) as is_mapped
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
