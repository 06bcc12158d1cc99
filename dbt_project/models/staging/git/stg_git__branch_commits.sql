with

source as (

    select * from {{ source('git', 'branch_commits') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["repository", "'@'", "sha"]) }} as commit_key,
        repository,
        branch,
        sha

    from source
    -- memberships of commits that left a branch (force-push) are hard-deleted at load; never shown
    where not coalesce(is_deleted, false)

)

select * from renamed
