with

source as (

    select * from {{ source('git', 'commits') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["repository", "'@'", "sha"]) }} as commit_key,
        repository,
        sha,
        first_parent_sha,
        parent_shas,
        author_id,
        committer_id,

        ---------- numerics
        parent_count,
        files_changed,
        lines_added,
        lines_deleted,
        trailer_count,
        co_author_count,
        author_tz_offset_minutes,
        committer_tz_offset_minutes,

        ---------- booleans
        coalesce(is_merge, false) as is_merge,
        coalesce(is_ai_assisted, false) as is_ai_assisted,

        ---------- timestamps
        {{ flowmart_utc('authored_at') }} as authored_at,
        {{ flowmart_utc('committed_at') }} as committed_at

    from source

)

select * from renamed
