with

source as (
    select * from {{ source('org', 'ai_assist_patterns') }}
),

renamed as (
    select
        kind as pattern_kind,
        pattern
    from source
)

select * from renamed
