with

source as (
    select * from {{ source('org', 'value_stream_steps') }}
),

renamed as (
    select
        value_stream,
        cast(step_order as integer) as step_order,
        status as status_name
    from source
)

select * from renamed
