with

source as (
    select * from {{ source('jira', 'issue_labels') }}
    where label is not null  -- the loader's placeholder for issues without labels
),

renamed as (
    select distinct
        issue_id,
        label,
        loaded_at  -- one per issue: its rows are replaced together
    from source
)

select * from renamed
