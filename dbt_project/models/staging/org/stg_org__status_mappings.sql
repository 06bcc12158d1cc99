with

source as (
    select * from {{ source('org', 'status_mappings') }}
),

renamed as (
    select
        project as project_key,
        status as status_name,
        flow_state
    from source
)

select * from renamed
