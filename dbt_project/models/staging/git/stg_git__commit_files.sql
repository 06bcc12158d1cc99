with

source as (

    select * from {{ source('git', 'commit_files') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["repository", "'@'", "sha"]) }} as commit_key,
        repository,
        sha,

        ---------- properties
        path as file_path,
        previous_path as previous_file_path,
        coalesce(is_binary, false) as is_binary,

        ---------- numerics
        lines_added,
        lines_deleted

    from source

)

select * from renamed
