with

source as (
    select * from {{ source('org', 'dora_bands') }}
),

renamed as (
    select
        metric,
        band,
        cast(band_rank as integer) as band_rank,
        cast(min_value as {{ flowmart_double() }}) as min_value,
        cast(max_value as {{ flowmart_double() }}) as max_value
    from source
)

select * from renamed
