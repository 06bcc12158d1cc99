-- Survey sentiment per team, wave and dimension, with the anonymity rule applied
-- (int_sentiment_cells_suppressed): a suppressed cell has every value null.
with

cells as (
    select * from {{ ref('int_sentiment_cells_suppressed') }}
    where scope_kind = 'team'
)

select
    cast(value_stream as {{ flowmart_string() }}) as value_stream,
    cast(scope_name as {{ flowmart_string() }}) as team,
    {{ flowmart_sentiment_columns('cells') }}
from cells
