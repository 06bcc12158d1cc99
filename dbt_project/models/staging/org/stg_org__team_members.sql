with

source as (
    select * from {{ source('org', 'team_members') }}
),

renamed as (
    select
        team,
        member_id
    from source
)

select * from renamed
