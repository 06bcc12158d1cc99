-- The DORA metrics, their bands and the input metrics per service and week, month and quarter. The
-- service's team: the first git ownership rule that names the service (or the repository it is named after).
with

metrics as (
    select * from {{ ref('int_delivery_metrics_aggregated') }}
    where scope_kind = 'service'
),

rules as (
    select * from {{ ref('stg_org__git_ownership_rules') }}
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

service_teams as (
    select service, team
    from (
        select
            coalesce(service, repository) as service,
            team,
            row_number() over (partition by coalesce(service, repository) order by rule_order) as rule_rank
        from rules
    ) as ranked
    where rule_rank = 1
)

select
    cast(teams.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(service_teams.team as {{ flowmart_string() }}) as team,
    cast(metrics.scope_name as {{ flowmart_string() }}) as service,
    {{ flowmart_delivery_metric_columns('metrics') }}
from metrics
left join service_teams on service_teams.service = metrics.scope_name
left join teams on teams.team = service_teams.team
