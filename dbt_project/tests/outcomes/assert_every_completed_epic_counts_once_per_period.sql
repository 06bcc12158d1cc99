-- Closing the loop counts each completed epic of a team once, in the month and in the quarter of its
-- completion: per team and grain, the periods' completed epics add up to the epics completed (since the
-- first reported month).
with

epics as (
    select team, count(*) as epics_completed
    from {{ ref('epic_outcomes') }}
    where is_completed and team is not null
        and cast(completed_at as date) >= (
            select min(period_start) from {{ ref('outcome_metrics_by_team') }} where grain = 'month'
        )
    group by team
),

counted as (
    select team, grain, sum(epics_completed) as epics_completed
    from {{ ref('outcome_metrics_by_team') }}
    group by team, grain
)

select counted.team, counted.grain, counted.epics_completed, epics.epics_completed as expected
from counted
left join epics on counted.team = epics.team
where counted.epics_completed <> coalesce(epics.epics_completed, 0)
