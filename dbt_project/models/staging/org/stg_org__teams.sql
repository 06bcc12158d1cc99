with

source as (
    select * from {{ source('org', 'teams') }}
),

renamed as (
    select
        name as team,
        value_stream,
        topology,
        cast(monthly_cost as {{ flowmart_double() }}) as monthly_cost,
        cast(member_count as integer) as member_count
    from source
)

select * from renamed
