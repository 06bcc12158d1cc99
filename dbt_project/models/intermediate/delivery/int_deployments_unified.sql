-- One row per real deployment (every environment and status), from its records
-- (int_deployment_records_grouped): first start, last finish, and the status, ref and ids of its latest
-- record. `is_counted` marks the deployments of deployment frequency and change lead time: successful,
-- production, not a rollback (a rollback restores a previous release; it ships no change and is a recovery).
with

records as (
    select * from {{ ref('int_deployment_records_grouped') }}
),

spans as (
    select
        deployment_id,
        min(started_at) as started_at,
        max(finished_at) as finished_at,
        count(*) as record_count
    from records
    group by deployment_id
),

latest as (
    select * from records where is_latest_record
),

final as (
    select
        spans.deployment_id,
        latest.source_system,
        latest.repository,
        latest.service,
        latest.team,
        latest.value_stream,
        latest.sha,
        latest.ref,
        latest.environment,
        latest.is_production,
        latest.is_rollback,
        latest.deployment_status,
        spans.started_at,
        case when latest.finished_at is not null then spans.finished_at end as finished_at,
        spans.record_count,
        (
            latest.is_production and not latest.is_rollback and latest.deployment_status = 'success'
            and latest.finished_at is not null
        ) as is_counted
    from spans
    inner join latest on latest.deployment_id = spans.deployment_id
)

select * from final
