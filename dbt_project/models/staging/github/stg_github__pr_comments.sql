with

source as (
    select * from {{ source('github', 'pr_comments') }}
),

renamed as (
    select
        ----------  ids
        comment_id,
        pr_id,
        repository,
        cast(pr_number as integer) as pr_number,
        commenter_id,
        ----------  properties
        coalesce(commenter_is_bot, false) as commenter_is_bot,
        commenter_bot_name,
        ----------  timestamps
        {{ flowmart_utc('created_at') }} as created_at,
        {{ flowmart_utc('updated_at') }} as updated_at
    from source
)

select * from renamed
