-- question: Is each metric of a team better or worse than the team's own trailing 3-month baseline?
-- tables: marts.team_flow_baselines, marts.team_delivery_baselines
-- filters: the last complete month of each table (is_period_complete); one team per page
-- units: each metric's own (named in `metric`); change_pct in %; direction: better, worse or steady
select 'flow' as area, value_stream, team, month_start, metric, higher_is_better, metric_value, baseline_value,
       change_pct, direction
from marts.team_flow_baselines
where month_start = (select max(month_start) from marts.team_flow_baselines where is_period_complete)
union all
select 'delivery' as area, value_stream, team, month_start, metric, higher_is_better, metric_value,
       baseline_value, change_pct, direction
from marts.team_delivery_baselines
where month_start = (select max(month_start) from marts.team_delivery_baselines where is_period_complete)
order by value_stream, team, area, metric
