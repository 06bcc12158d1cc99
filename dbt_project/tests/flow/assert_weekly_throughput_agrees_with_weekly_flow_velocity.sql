-- One definition of completed: team_weekly_throughput and flow_metrics_by_team at week grain count the same
-- completed and canceled items for every team and week, and cover the same weeks.
select
    coalesce(throughput.team, metrics.team) as team,
    coalesce(throughput.week_start, metrics.period_start) as week_start,
    throughput.items_completed as throughput_completed,
    metrics.items_completed as metrics_completed

from {{ ref('team_weekly_throughput') }} as throughput
full outer join (
    select * from {{ ref('flow_metrics_by_team') }} where grain = 'week'
) as metrics
    on throughput.team = metrics.team
    and throughput.week_start = metrics.period_start

where
    throughput.team is null
    or metrics.team is null
    or throughput.items_completed <> metrics.items_completed
    or throughput.items_canceled <> metrics.items_canceled
