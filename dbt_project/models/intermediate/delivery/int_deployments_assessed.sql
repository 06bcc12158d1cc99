-- One row per finished production deployment that is not a rollback (status success, failure or
-- rolled_back): the denominator of the change fail rate. A deployment failed when its own status is
-- failure or rolled_back, or when an incident is attributed to it; it counts once however many incidents
-- hit it. Failure: the deployment's finish (own status) or its first incident's start, whichever is
-- earlier. Recovery: the next successful production deployment of the service (a rollback included) after
-- a failed status, and the resolution of the last of its incidents; the later of those that apply, null
-- while one is pending.
with

deployments as (
    select * from {{ ref('int_deployments_unified') }}
),

incidents as (
    select * from {{ ref('int_incidents_attributed') }}
    where deployment_id is not null
),

production as (
    select * from deployments
    where
        is_production
        and not is_rollback
        and deployment_status in ('success', 'failure', 'rolled_back')
        and finished_at is not null
),

incident_facts as (
    select
        deployment_id,
        count(*) as incident_count,
        min(started_at) as first_incident_at,
        case when count(resolved_at) = count(*) then max(resolved_at) end as incidents_resolved_at
    from incidents
    group by deployment_id
),

next_successes as (
    select
        production.deployment_id,
        min(later.finished_at) as next_success_at
    from production
    inner join deployments as later
        on later.service = production.service
        and later.is_production
        and later.deployment_status = 'success'
        and later.finished_at > production.finished_at
    where production.deployment_status in ('failure', 'rolled_back')
    group by production.deployment_id
),

assessed as (
    select
        production.*,
        production.deployment_status in ('failure', 'rolled_back') as has_failed_status,
        coalesce(incident_facts.incident_count, 0) as incident_count,
        incident_facts.first_incident_at,
        incident_facts.incidents_resolved_at,
        next_successes.next_success_at
    from production
    left join incident_facts on incident_facts.deployment_id = production.deployment_id
    left join next_successes on next_successes.deployment_id = production.deployment_id
),

final as (
    select
        assessed.*,
        has_failed_status or incident_count > 0 as is_failed,
        case
            when has_failed_status and incident_count > 0 and first_incident_at < finished_at then first_incident_at
            when has_failed_status then finished_at
            when incident_count > 0 then first_incident_at
        end as failed_at,
        case
            when has_failed_status and incident_count > 0 then
                case
                    when next_success_at is null or incidents_resolved_at is null then null
                    when next_success_at > incidents_resolved_at then next_success_at
                    else incidents_resolved_at
                end
            when has_failed_status then next_success_at
            when incident_count > 0 then incidents_resolved_at
        end as recovered_at
    from assessed
)

select
    final.*,
    case
        when {{ flowmart_hours_between('failed_at', 'recovered_at') }} >= 0
            then {{ flowmart_hours_between('failed_at', 'recovered_at') }}
    end as recovery_hours
from final
