with

source as (
    select * from {{ source('jira', 'statuses') }}
),

renamed as (
    select
        id as status_id,
        name as status_name,
        category as status_category
    from source
)

select * from renamed
