-- One row per production incident (tracker and delivery-events files) with the deployment it is attributed to.
with

incidents as (
    select * from {{ ref('int_incidents_attributed') }}
)

select
    cast(incident_id as {{ flowmart_string() }}) as incident_id,
    cast(source_system as {{ flowmart_string() }}) as source_system,
    cast(service as {{ flowmart_string() }}) as service,
    cast(team as {{ flowmart_string() }}) as team,
    cast(value_stream as {{ flowmart_string() }}) as value_stream,
    cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
    cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at,
    cast(
        case
            when {{ flowmart_hours_between('started_at', 'resolved_at') }} >= 0
                then {{ flowmart_hours_between('started_at', 'resolved_at') }}
        end as {{ flowmart_double() }}
    ) as time_to_resolve_hours,
    cast(deployment_id as {{ flowmart_string() }}) as deployment_id,
    cast(attribution as {{ flowmart_string() }}) as attribution
from incidents
