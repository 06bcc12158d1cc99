-- Closing the loop counts each completed epic of a team once, in the month and in the quarter of its
-- completion: per team and grain, the periods' completed epics add up to the epics completed since the
-- grain's first reported period.
with

counted as (
    select team, grain, min(period_start) as first_period_start, sum(epics_completed) as epics_completed
    from {{ ref('outcome_metrics_by_team') }}
    group by team, grain
),

expected as (
    select counted.team, counted.grain, count(epics.issue_id) as epics_completed
    from counted
    left join {{ ref('epic_outcomes') }} as epics
        on counted.team = epics.team
        and epics.is_completed
        and cast(epics.completed_at as date) >= counted.first_period_start
    group by counted.team, counted.grain
)

select counted.team, counted.grain, counted.epics_completed, expected.epics_completed as expected
from counted
inner join expected on counted.team = expected.team and counted.grain = expected.grain
where counted.epics_completed <> expected.epics_completed
