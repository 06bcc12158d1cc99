-- The DORA metrics, their bands and the input metrics per value stream and week, month and quarter.
with

metrics as (
    select * from {{ ref('int_delivery_metrics_aggregated') }}
    where scope_kind = 'value_stream'
)

select
    cast(metrics.scope_name as {{ flowmart_string() }}) as value_stream,
    {{ flowmart_delivery_metric_columns('metrics') }}
from metrics
