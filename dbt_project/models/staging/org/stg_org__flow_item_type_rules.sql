with

source as (
    select * from {{ source('org', 'flow_item_type_rules') }}
),

renamed as (
    select
        rule_kind,
        match_value,
        flow_item_type,
        cast(rule_order as integer) as rule_order
    from source
)

select * from renamed
