with

source as (
    select * from {{ source('org', 'objectives') }}
),

renamed as (
    select
        id as objective_id,
        title as objective_title,
        level as objective_level,
        parent_key_result as parent_key_result_id
    from source
)

select * from renamed
