-- question: Where do pull requests wait in each value stream (pickup and review time), how big are they,
--   and how many merge without review or need rework?
-- table: marts.delivery_metrics_by_value_stream
-- filters: grain = 'month'; the last 12 months; the current month is partial (is_period_complete = false)
-- units: minutes (pickup, review), lines (size), % (merged without review, rework, AI-assisted)
select value_stream, period_start, is_period_complete,
       pull_requests_merged, pickup_p50_minutes, review_p50_minutes, pr_size_p50_lines,
       merged_without_review_pct, rework_pct, ai_assisted_pct
from marts.delivery_metrics_by_value_stream
where grain = 'month'
  and period_start > (select max(period_start) from marts.delivery_metrics_by_value_stream where grain = 'month')
                     - interval '12 months'
order by value_stream, period_start
