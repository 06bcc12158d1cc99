-- question: Which objectives did each value stream's time go to in the last complete quarter?
-- table: marts.investment_distribution
-- filters: scope_kind = 'value_stream', dimension = 'objective', grain = 'quarter', the last complete quarter
-- units: % of the value stream's active time; allocated cost in the org config's currency (null when no
--   team cost is configured)
select scope_name as value_stream, period_start, category, objective_title, active_time_share_pct, allocated_cost
from marts.investment_distribution
where scope_kind = 'value_stream' and dimension = 'objective' and grain = 'quarter'
  and period_start = (select max(period_start) from marts.investment_distribution
                      where grain = 'quarter' and is_period_complete)
order by value_stream, active_time_share_pct desc
