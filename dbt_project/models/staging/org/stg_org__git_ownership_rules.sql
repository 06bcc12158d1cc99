with

source as (
    select * from {{ source('org', 'git_ownership_rules') }}
),

renamed as (
    select
        cast(rule_order as integer) as rule_order,
        repository,
        team,
        service
    from source
)

select * from renamed
