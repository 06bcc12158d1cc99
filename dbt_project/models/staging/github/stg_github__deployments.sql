-- One row per deployment with its final state. Documented exception to "no joins in staging": the final
-- state (the latest status other than `inactive`, which GitHub adds to superseded deployments) is
-- picked from the deployment's statuses with a window function.
with

source as (
    select * from {{ source('github', 'deployments') }}
),

statuses as (
    select * from {{ source('github', 'deployment_statuses') }}
),

ranked_statuses as (
    select
        deployment_id,
        state,
        created_at,
        row_number() over (partition by deployment_id order by created_at desc, status_id desc) as recency
    from statuses
    where state <> 'inactive'
),

final_statuses as (
    select deployment_id, state, created_at
    from ranked_statuses
    where recency = 1
),

inactive as (
    select deployment_id, min(created_at) as inactive_at
    from statuses
    where state = 'inactive'
    group by deployment_id
),

renamed as (
    select
        ----------  ids
        source.deployment_id,
        source.repository,
        source.sha,
        source.ref,
        source.creator_id,
        ----------  properties
        source.environment,
        coalesce(source.is_production, false) as is_production,
        coalesce(source.is_transient, false) as is_transient,
        source.task,
        coalesce(source.task like '%rollback%', false) as is_rollback,
        coalesce(source.creator_is_bot, false) as creator_is_bot,
        source.creator_bot_name,
        coalesce(final_statuses.state, 'pending') as final_state,
        ----------  timestamps
        {{ flowmart_utc('source.created_at') }} as created_at,
        {{ flowmart_utc('source.updated_at') }} as updated_at,
        {{ flowmart_utc('final_statuses.created_at') }} as final_state_at,
        {{ flowmart_utc('inactive.inactive_at') }} as inactive_at
    from source
    left join final_statuses on source.deployment_id = final_statuses.deployment_id
    left join inactive on source.deployment_id = inactive.deployment_id
)

select * from renamed
