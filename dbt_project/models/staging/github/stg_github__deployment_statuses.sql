with

source as (
    select * from {{ source('github', 'deployment_statuses') }}
),

renamed as (
    select
        ----------  ids
        status_id,
        deployment_id,
        repository,
        creator_id,
        ----------  properties
        state as status_state,
        environment,
        coalesce(creator_is_bot, false) as creator_is_bot,
        ----------  timestamps
        {{ flowmart_utc('created_at') }} as created_at
    from source
)

select * from renamed
