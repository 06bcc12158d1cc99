-- One row per production incident, from the tracker (issues whose type has the role 'incident' in the org
-- config, and work items with a configured incident label) and from delivery-events files, attributed to the deployment that caused it: the explicit
-- link of the file (`caused_by_deployment`, the id of any record of the deployment), else the latest counted
-- deployment (successful, production, not a rollback) of the same service that finished at or before the
-- incident started; none when the service had no deployment before it.
-- A tracker incident's service: one of its components that names a service of the git ownership rules,
-- else the only service its team owns.
with

issue_labels as (
    select * from {{ ref('stg_jira__issue_labels') }}
),

incident_labels as (
    select * from {{ ref('stg_org__incident_labels') }}
),

labelled_incidents as (
    select distinct issue_labels.issue_id
    from issue_labels
    inner join incident_labels on incident_labels.label = lower(issue_labels.label)
),

work_items as (
    select owned.*
    from {{ ref('int_work_items_owned') }} as owned
    left join labelled_incidents on labelled_incidents.issue_id = owned.issue_id
    where
        owned.item_role = 'incident'
        or (owned.item_role = 'work_item' and labelled_incidents.issue_id is not null)
),

components as (
    select * from {{ ref('stg_jira__issue_components') }}
),

file_incidents as (
    select * from {{ ref('stg_delivery__incidents') }}
),

rules as (
    select * from {{ ref('stg_org__git_ownership_rules') }}
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

records as (
    select * from {{ ref('int_deployment_records_grouped') }}
),

deployments as (
    select * from {{ ref('int_deployments_unified') }}
),

services as (
    select distinct coalesce(service, repository) as service, team
    from rules
),

team_single_services as (
    select team, min(service) as service
    from services
    group by team
    having count(*) = 1
),

component_services as (
    select components.issue_id, min(services.service) as service
    from components
    inner join services on services.service = components.component
    group by components.issue_id
),

incidents as (
    select
        'jira:' || work_items.issue_key as incident_id,
        'jira' as source_system,
        coalesce(component_services.service, team_single_services.service) as service,
        work_items.team,
        work_items.value_stream,
        work_items.created_at as started_at,
        work_items.resolved_at,
        cast(null as {{ flowmart_string() }}) as caused_by_deployment_id
    from work_items
    left join component_services on component_services.issue_id = work_items.issue_id
    left join team_single_services on team_single_services.team = work_items.team
    where work_items.created_at is not null

    union all

    select
        'delivery_events:' || file_incidents.incident_id as incident_id,
        'delivery_events' as source_system,
        file_incidents.service,
        service_teams.team,
        teams.value_stream,
        coalesce(file_incidents.started_at, file_incidents.resolved_at) as started_at,
        file_incidents.resolved_at,
        file_incidents.caused_by_deployment_id
    from file_incidents
    left join (
        select service, min(team) as team from services group by service
    ) as service_teams on service_teams.service = file_incidents.service
    left join teams on teams.team = service_teams.team
    where {{ flowmart_is_production_environment('file_incidents.environment') }}
),

explicit_links as (
    select incidents.incident_id, min(records.deployment_id) as deployment_id
    from incidents
    inner join records
        on records.source_deployment_id = incidents.caused_by_deployment_id
        or records.deployment_id = incidents.caused_by_deployment_id
    group by incidents.incident_id
),

latest_before as (
    select incident_id, deployment_id
    from (
        select
            incidents.incident_id,
            deployments.deployment_id,
            row_number() over (
                partition by incidents.incident_id
                order by deployments.finished_at desc, deployments.deployment_id desc
            ) as recency
        from incidents
        inner join deployments
            on deployments.service = incidents.service
            and deployments.is_counted
            and deployments.finished_at <= incidents.started_at
    ) as ranked
    where recency = 1
),

final as (
    select
        incidents.incident_id,
        incidents.source_system,
        coalesce(deployments.service, incidents.service) as service,
        coalesce(deployments.team, incidents.team) as team,
        coalesce(deployments.value_stream, incidents.value_stream) as value_stream,
        incidents.started_at,
        incidents.resolved_at,
        coalesce(explicit_links.deployment_id, latest_before.deployment_id) as deployment_id,
        case
            when explicit_links.deployment_id is not null then 'explicit_link'
            when latest_before.deployment_id is not null then 'latest_deployment_before'
        end as attribution
    from incidents
    left join explicit_links on explicit_links.incident_id = incidents.incident_id
    left join latest_before
        on latest_before.incident_id = incidents.incident_id
        and explicit_links.deployment_id is null
    left join deployments
        on deployments.deployment_id = coalesce(explicit_links.deployment_id, latest_before.deployment_id)
)

select * from final
