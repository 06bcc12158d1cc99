with

source as (
    select * from {{ source('org', 'value_streams') }}
),

renamed as (
    select
        name as value_stream,
        owner,
        description
    from source
)

select * from renamed
