with

source as (
    select * from {{ source('jira', 'fields') }}
),

renamed as (
    select
        id as field_id,
        name as field_name,
        is_custom,
        schema_type,
        schema_custom
    from source
)

select * from renamed
