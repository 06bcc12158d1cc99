-- question: How does work flow in each value stream, month by month?
-- table: marts.flow_metrics_by_value_stream
-- filters: grain = 'month'; the last 12 months; the current month is partial (is_period_complete = false)
-- units: items (velocity, load), days (flow time), % (efficiency, distribution)
select value_stream, period_start, is_period_complete,
       items_completed, flow_time_p50_days, flow_time_p85_days, flow_efficiency_pct, flow_load_avg,
       completed_share_feature_pct, completed_share_defect_pct, completed_share_debt_pct, completed_share_risk_pct
from marts.flow_metrics_by_value_stream
where grain = 'month'
  and period_start > (select max(period_start) from marts.flow_metrics_by_value_stream where grain = 'month')
                     - interval '12 months'
order by value_stream, period_start
