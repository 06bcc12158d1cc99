-- The DORA metrics, their bands and the input metrics per team and week, month and quarter.
with

metrics as (
    select * from {{ ref('int_delivery_metrics_aggregated') }}
    where scope_kind = 'team'
),

teams as (
    select * from {{ ref('stg_org__teams') }}
)

select
    cast(teams.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(metrics.scope_name as {{ flowmart_string() }}) as team,
    {{ flowmart_delivery_metric_columns('metrics') }}
from metrics
left join teams on teams.team = metrics.scope_name
