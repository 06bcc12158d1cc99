with

source as (

    select * from {{ source('git', 'commit_trailers') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["repository", "'@'", "sha"]) }} as commit_key,
        repository,
        sha,
        trailer_index,

        ---------- properties
        lower(trim(trailer_key)) as trailer_key,
        trailer_key as trailer_key_as_written,
        trailer_value,
        coalesce(is_person, false) as is_person,
        coalesce(is_ai_assist, false) as is_ai_assist

    from source

)

select * from renamed
