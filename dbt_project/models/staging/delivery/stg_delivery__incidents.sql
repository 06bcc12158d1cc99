with

source as (

    select * from {{ source('delivery', 'incidents') }}

),

renamed as (

    select
        ----------  ids
        incident_id,
        service,
        caused_by_deployment_id,

        ---------- properties
        environment,
        severity,
        source_tool,

        ---------- lineage
        source_file,
        source_line,

        ---------- timestamps
        {{ flowmart_utc('started_at') }} as started_at,
        {{ flowmart_utc('resolved_at') }} as resolved_at

    from source

)

select * from renamed
