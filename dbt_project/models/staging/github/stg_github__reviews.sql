with

source as (
    select * from {{ source('github', 'reviews') }}
),

renamed as (
    select
        ----------  ids
        review_id,
        pr_id,
        repository,
        cast(pr_number as integer) as pr_number,
        reviewer_id,
        commit_sha,
        ----------  properties
        state as review_state,
        coalesce(reviewer_is_bot, false) as reviewer_is_bot,
        reviewer_bot_name,
        ----------  timestamps
        {{ flowmart_utc('submitted_at') }} as submitted_at
    from source
)

select * from renamed
