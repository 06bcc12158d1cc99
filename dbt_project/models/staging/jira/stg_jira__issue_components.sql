with

source as (
    select * from {{ source('jira', 'issue_components') }}
    where component is not null  -- the loader's placeholder for issues without components
),

renamed as (
    select distinct
        issue_id,
        component,
        loaded_at  -- one per issue: its rows are replaced together
    from source
)

select * from renamed
