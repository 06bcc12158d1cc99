with

source as (
    select * from {{ source('org', 'issue_type_roles') }}
),

renamed as (
    select
        issue_type,
        role as item_role
    from source
)

select * from renamed
