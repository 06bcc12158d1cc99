-- Survey sentiment per value stream, wave and dimension: every answer of the value stream's teams (small
-- teams count here even when their own figures are suppressed), with the anonymity rule applied.
with

cells as (
    select * from {{ ref('int_sentiment_cells_suppressed') }}
    where scope_kind = 'value_stream'
)

select
    cast(scope_name as {{ flowmart_string() }}) as value_stream,
    {{ flowmart_sentiment_columns('cells') }}
from cells
