with

source as (

    select * from {{ source('git', 'tags') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["repository", "'@'", "sha"]) }} as commit_key,
        repository,
        tag_name,
        sha,
        tag_object_sha,
        tagger_id,

        ---------- properties
        coalesce(is_annotated, false) as is_annotated,
        tagged_tz_offset_minutes,

        ---------- timestamps
        {{ flowmart_utc('tagged_at') }} as tagged_at

    from source

)

select * from renamed
