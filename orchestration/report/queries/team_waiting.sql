-- question: In which statuses does a team's work wait, and what share of its flow time is that?
-- table: marts.flow_waiting_time_by_status
-- filters: grain = 'quarter'; the last complete quarter; one team per page
-- units: days (wait per item that waited), % (share of the team's flow time)
select value_stream, team, period_start, status_name, items_waited, wait_days_per_item_waited,
       share_of_flow_time_pct, wait_rank
from marts.flow_waiting_time_by_status
where grain = 'quarter'
  and period_start = (select max(period_start) from marts.flow_waiting_time_by_status
                      where grain = 'quarter' and is_period_complete)
order by value_stream, team, wait_rank
