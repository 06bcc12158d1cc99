with

source as (
    select * from {{ source('org', 'outcome_placeholders') }}
),

renamed as (
    select
        placeholder
    from source
)

select * from renamed
