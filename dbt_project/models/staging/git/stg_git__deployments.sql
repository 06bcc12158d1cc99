with

source as (

    select * from {{ source('git', 'deployments') }}

),

renamed as (

    select
        ----------  ids
        deployment_id,
        {{ dbt.concat(["repository", "'@'", "sha"]) }} as commit_key,
        repository,
        tag_name,
        sha,

        ---------- properties
        environment,
        status as deployment_status,
        deployed_tz_offset_minutes,

        ---------- timestamps
        {{ flowmart_utc('deployed_at') }} as deployed_at

    from source

)

select * from renamed
