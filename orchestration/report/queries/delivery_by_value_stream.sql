-- question: How often does each value stream deploy, how fast do changes reach production, how often do
--   deployments fail and how fast is service recovered (the four DORA metrics and their bands)?
-- table: marts.delivery_metrics_by_value_stream
-- filters: grain = 'month'; the last 12 months; the current month is partial (is_period_complete = false)
-- units: deployments and deploy-days per week; hours (lead time, recovery); % (change fail rate)
select value_stream, period_start, is_period_complete,
       deployments, deployment_days_per_week_p50, deployment_frequency_band,
       change_lead_time_p50_hours, change_lead_time_p85_hours, change_lead_time_band,
       change_fail_rate_pct, change_fail_rate_band, recovery_time_p50_hours, recovery_time_band
from marts.delivery_metrics_by_value_stream
where grain = 'month'
  and period_start > (select max(period_start) from marts.delivery_metrics_by_value_stream where grain = 'month')
                     - interval '12 months'
order by value_stream, period_start
