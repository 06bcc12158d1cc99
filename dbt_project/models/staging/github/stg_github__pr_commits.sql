with

source as (
    select * from {{ source('github', 'pr_commits') }}
),

renamed as (
    select
        ----------  ids
        cast(pr_id as {{ dbt.type_string() }}) || '-' || sha as pr_commit_id,
        pr_id,
        sha,
        repository,
        cast(pr_number as integer) as pr_number,
        cast(commit_order as integer) as commit_order,
        author_id,
        author_email_id,
        committer_id,
        first_parent_sha,
        ----------  properties
        coalesce(author_is_bot, false) as author_is_bot,
        cast(parent_count as integer) as parent_count,
        cast(trailer_count as integer) as trailer_count,
        coalesce(has_ai_trailer, false) as has_ai_trailer,
        ----------  timestamps
        {{ flowmart_utc('authored_at') }} as authored_at,
        {{ flowmart_utc('committed_at') }} as committed_at
    from source
)

select * from renamed
