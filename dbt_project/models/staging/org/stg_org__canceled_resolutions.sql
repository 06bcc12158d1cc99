with

source as (
    select * from {{ source('org', 'canceled_resolutions') }}
),

renamed as (
    select
        resolution
    from source
)

select * from renamed
