-- One row per pull request, current state. Timestamps are naive UTC.
with

source as (
    select * from {{ source('github', 'pull_requests') }}
),

renamed as (
    select
        ----------  ids
        pr_id,
        repository,
        cast(number as integer) as pr_number,
        author_id,
        merged_by_id,
        merge_commit_sha,
        head_sha,
        ----------  properties
        state as pr_state,
        merged_at is not null as is_merged,
        coalesce(is_draft, false) as is_draft,
        coalesce(author_is_bot, false) as author_is_bot,
        author_bot_name,
        title,
        base_ref as base_branch,
        html_url,
        ----------  size
        cast(additions as integer) as additions,
        cast(deletions as integer) as deletions,
        cast(changed_files as integer) as changed_files,
        cast(commit_count as integer) as commit_count,
        ----------  timestamps
        {{ flowmart_utc('created_at') }} as created_at,
        {{ flowmart_utc('updated_at') }} as updated_at,
        {{ flowmart_utc('closed_at') }} as closed_at,
        {{ flowmart_utc('merged_at') }} as merged_at
    from source
)

select * from renamed
