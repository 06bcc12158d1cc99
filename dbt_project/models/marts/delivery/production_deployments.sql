-- One row per finished production deployment that is not a rollback, with its failure and recovery.
with

assessed as (
    select * from {{ ref('int_deployments_assessed') }}
),

pull_requests as (
    select * from {{ ref('int_pull_requests_measured') }}
    where is_deployed
),

shipped as (
    select deployment_id, count(*) as pull_requests_shipped
    from pull_requests
    group by deployment_id
)

select
    cast(assessed.deployment_id as {{ flowmart_string() }}) as deployment_id,
    cast(assessed.source_system as {{ flowmart_string() }}) as source_system,
    cast(assessed.service as {{ flowmart_string() }}) as service,
    cast(assessed.team as {{ flowmart_string() }}) as team,
    cast(assessed.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(assessed.repository as {{ flowmart_string() }}) as repository,
    cast(assessed.sha as {{ flowmart_string() }}) as sha,
    cast(assessed.environment as {{ flowmart_string() }}) as environment,
    cast(assessed.deployment_status as {{ flowmart_string() }}) as deployment_status,
    cast(assessed.started_at as {{ dbt.type_timestamp() }}) as started_at,
    cast(assessed.finished_at as {{ dbt.type_timestamp() }}) as finished_at,
    cast(assessed.record_count as integer) as record_count,
    cast(assessed.is_counted as boolean) as is_counted,
    cast(coalesce(shipped.pull_requests_shipped, 0) as integer) as pull_requests_shipped,
    cast(assessed.has_failed_status as boolean) as has_failed_status,
    cast(assessed.incident_count as integer) as incident_count,
    cast(assessed.is_failed as boolean) as is_failed,
    cast(assessed.failed_at as {{ dbt.type_timestamp() }}) as failed_at,
    cast(assessed.recovered_at as {{ dbt.type_timestamp() }}) as recovered_at,
    cast(assessed.recovery_hours as {{ flowmart_double() }}) as recovery_hours
from assessed
left join shipped on shipped.deployment_id = assessed.deployment_id
