with

source as (

    select * from {{ source('delivery', 'deployments') }}

),

renamed as (

    select
        ----------  ids
        deployment_id,
        service,
        repository,
        sha,
        ref,

        ---------- properties
        environment,
        status as deployment_status,
        source_tool,

        ---------- lineage
        source_file,
        source_line,

        ---------- timestamps
        {{ flowmart_utc('started_at') }} as started_at,
        {{ flowmart_utc('finished_at') }} as finished_at

    from source

)

select * from renamed
