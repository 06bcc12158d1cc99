with

source as (
    select * from {{ source('org', 'settings') }}
),

renamed as (
    select
        setting,
        value as setting_value
    from source
)

select * from renamed
