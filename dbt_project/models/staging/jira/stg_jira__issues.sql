-- One row per Jira issue. Timestamps are naive UTC. The one join of the staging layer: the
-- reconciliation flag (issues that left the scope are kept, flagged, never counted as live work).
with

source as (
    select * from {{ source('jira', 'issues') }}
),

deletions as (
    select * from {{ source('jira', 'issue_deletions') }}
),

renamed as (
    select
        ----------  ids
        source.id as issue_id,
        source.key as issue_key,
        source.project_key,
        source.parent_id as parent_issue_id,
        source.parent_key as parent_issue_key,
        ----------  classification
        source.project_name,
        source.issue_type,
        cast(source.hierarchy_level as integer) as hierarchy_level,
        coalesce(source.is_subtask, false) as is_subtask,
        source.status,
        source.status_id,
        source.status_category,
        source.resolution,
        source.priority,
        source.summary,
        source.team_field_value,
        ----------  outcomes (rich text converted to plain text at load)
        source.anticipated_outcome,
        source.actual_outcome,
        source.outcome_verdict,
        source.key_result,
        ----------  people (pseudonyms)
        source.assignee_id,
        source.reporter_id,
        ----------  timestamps
        {{ flowmart_utc('source.created') }} as created_at,
        {{ flowmart_utc('source.updated') }} as updated_at,
        {{ flowmart_utc('source.resolution_date') }} as resolved_at,
        cast(source.changelog_total as integer) as changelog_histories,
        coalesce(deletions.is_deleted, false) as is_deleted,
        ----------  lineage (naive UTC already)
        source.loaded_at
    from source
    left join deletions on deletions.issue_id = source.id
)

select * from renamed
