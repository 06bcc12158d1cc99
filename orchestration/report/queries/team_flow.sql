-- question: How does work flow in one team, month by month? (team page; never a ranking of teams)
-- table: marts.flow_metrics_by_team
-- filters: grain = 'month'; the last 12 months; one team (the report draws one page per team);
--   the current month is partial (is_period_complete = false)
-- units: items (velocity, load), days (flow time), % (efficiency)
select value_stream, team, period_start, is_period_complete,
       items_completed, flow_time_p50_days, flow_time_p85_days, flow_efficiency_pct, flow_load_avg
from marts.flow_metrics_by_team
where grain = 'month'
  and period_start > (select max(period_start) from marts.flow_metrics_by_team where grain = 'month')
                     - interval '12 months'
order by value_stream, team, period_start
