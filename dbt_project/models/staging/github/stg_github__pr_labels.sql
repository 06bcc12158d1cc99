with

source as (
    select * from {{ source('github', 'pr_labels') }}
    where label <> ''  -- the loader's placeholder for PRs without labels
),

renamed as (
    select distinct
        pr_id,
        label
    from source
)

select * from renamed
