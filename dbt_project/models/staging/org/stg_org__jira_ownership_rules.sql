with

source as (
    select * from {{ source('org', 'jira_ownership_rules') }}
),

renamed as (
    select
        cast(rule_order as integer) as rule_order,
        team,
        project as project_key,
        component,
        label,
        team_field as team_field_value
    from source
)

select * from renamed
