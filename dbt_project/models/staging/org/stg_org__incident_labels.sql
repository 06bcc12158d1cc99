with

source as (
    select * from {{ source('org', 'incident_labels') }}
),

renamed as (
    select distinct
        lower(label) as label
    from source
)

select * from renamed
