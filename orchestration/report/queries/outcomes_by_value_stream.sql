-- question: Is each value stream's work tied to an outcome, and does anyone check afterwards whether it happened?
-- table: marts.outcome_metrics_by_value_stream
-- filters: grain = 'quarter'; the last 8 quarters; the current quarter is partial (is_period_complete = false)
-- units: % (Feature Factory Ratio: lower is better; closing the loop, OKR linkage, aligned active time), epics
select value_stream, period_start, is_period_complete, epics_in_scope, feature_factory_ratio_pct,
       epics_due_for_outcome, closing_the_loop_rate_pct, okr_linkage_pct, aligned_active_time_pct
from marts.outcome_metrics_by_value_stream
where grain = 'quarter'
  and period_start > (select max(period_start) from marts.outcome_metrics_by_value_stream where grain = 'quarter')
                     - interval '24 months'
order by value_stream, period_start
