with

source as (
    select * from {{ source('org', 'key_results') }}
),

renamed as (
    select
        key_result_id,
        objective_id,
        title as key_result_title
    from source
)

select * from renamed
