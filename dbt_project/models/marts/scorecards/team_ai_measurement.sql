{#- AI measurement per team (DOMAIN.md, "Scorecards that combine the four"): adoption next to impact, before
    and after the team's adoption month, never adoption alone.
    * Adoption month: the first month in which at least `ai_adoption_share_pct` (default 50) percent of the
      team's merged pull requests were AI-assisted, and the team's next month with merges too (one busy month
      of a few pull requests is not an adoption; a month without merges says nothing). The org config has no adoption date to read yet.
    * Utilisation: the AI-assisted share of merged pull requests (bots left out, as in the delivery marts)
      and the share of survey respondents who say they use AI tools (the `ai_usage` dimension's % yes of
      team_sentiment: the mean over the phase's shown waves; suppressed waves stay out), and the same for the
      team's value stream (value_stream_sentiment), since a small team's own waves are often suppressed.
    * Impact: the change lead time (p50) of AI-assisted vs other changes merged in the phase; the change fail
      rate of the deployments that shipped at least one AI-assisted change vs those that shipped none; the
      team's flow time (p50) of the items completed in the phase. A side without changes has null figures,
      never 0. Per-change facts come from pull_request_cycle_times and production_deployments, per-item
      flow time from completed_work_items: nothing is recomputed. -#}
{%- set adoption_share_pct = var('ai_adoption_share_pct', 50) -%}

with

monthly as (
    select * from {{ ref('delivery_metrics_by_team') }}
    where grain = 'month'
),

pull_requests as (
    select * from {{ ref('pull_request_cycle_times') }}
    where not is_bot_authored and team is not null
),

deployments as (
    select * from {{ ref('production_deployments') }}
),

work_items as (
    select * from {{ ref('completed_work_items') }}
    where team is not null
),

sentiment as (
    select * from {{ ref('team_sentiment') }}
    where dimension = 'ai_usage'
),

value_stream_sentiment as (
    select * from {{ ref('value_stream_sentiment') }}
    where dimension = 'ai_usage'
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

monthly_share as (
    select
        team,
        period_start as month_start,
        ai_assisted_pct,
        lead(ai_assisted_pct) over (partition by team order by period_start) as next_month_ai_assisted_pct
    from monthly
    where pull_requests_merged > 0
),

adoption as (
    select team, min(month_start) as adoption_month
    from monthly_share
    where ai_assisted_pct >= {{ adoption_share_pct }} and next_month_ai_assisted_pct >= {{ adoption_share_pct }}
    group by team
),

phases as (
    select teams.team, teams.value_stream, adoption.adoption_month, 'before_adoption' as phase
    from teams
    inner join adoption on adoption.team = teams.team
    union all
    select teams.team, teams.value_stream, adoption.adoption_month, 'after_adoption' as phase
    from teams
    inner join adoption on adoption.team = teams.team
    union all
    select teams.team, teams.value_stream, cast(null as date) as adoption_month, 'no_adoption' as phase
    from teams
    left join adoption on adoption.team = teams.team
    where adoption.team is null
),

changes as (
    select
        phases.team,
        phases.phase,
        count(pull_requests.pr_id) as pull_requests_merged,
        sum(case when pull_requests.is_ai_assisted then 1 else 0 end) as ai_assisted_pull_requests,
        {{ flowmart_percentile('case when pull_requests.is_ai_assisted then pull_requests.change_lead_time_hours end', 0.5) }}
            as ai_assisted_change_lead_time_p50_hours,
        {{ flowmart_percentile('case when not pull_requests.is_ai_assisted then pull_requests.change_lead_time_hours end', 0.5) }}
            as other_change_lead_time_p50_hours
    from phases
    left join pull_requests
        on pull_requests.team = phases.team
        and {{ flowmart_ai_phase('phases', 'pull_requests.merged_at') }} = phases.phase
    group by 1, 2
),

shipping_deployments as (
    select
        deployments.deployment_id,
        deployments.team,
        deployments.finished_at,
        deployments.is_failed,
        max(case when pull_requests.is_ai_assisted then 1 else 0 end) = 1 as shipped_ai_assisted_change
    from deployments
    inner join pull_requests on pull_requests.deployment_id = deployments.deployment_id
    group by 1, 2, 3, 4
),

failures as (
    select
        phases.team,
        phases.phase,
        sum(case when shipping_deployments.shipped_ai_assisted_change then 1 else 0 end)
            as deployments_with_ai_assisted_changes,
        sum(case when not shipping_deployments.shipped_ai_assisted_change then 1 else 0 end)
            as deployments_without_ai_assisted_changes,
        100.0 * sum(case when shipping_deployments.shipped_ai_assisted_change and shipping_deployments.is_failed
            then 1 else 0 end)
            / nullif(sum(case when shipping_deployments.shipped_ai_assisted_change then 1 else 0 end), 0)
            as ai_assisted_change_fail_rate_pct,
        100.0 * sum(case when not shipping_deployments.shipped_ai_assisted_change and shipping_deployments.is_failed
            then 1 else 0 end)
            / nullif(sum(case when not shipping_deployments.shipped_ai_assisted_change then 1 else 0 end), 0)
            as other_change_fail_rate_pct
    from phases
    left join shipping_deployments
        on shipping_deployments.team = phases.team
        and {{ flowmart_ai_phase('phases', 'shipping_deployments.finished_at') }} = phases.phase
    group by 1, 2
),

flow as (
    select
        phases.team,
        phases.phase,
        count(work_items.issue_id) as items_completed,
        {{ flowmart_percentile('work_items.flow_time_days', 0.5) }} as flow_time_p50_days
    from phases
    left join work_items
        on work_items.team = phases.team
        and {{ flowmart_ai_phase('phases', 'work_items.completed_at') }} = phases.phase
    group by 1, 2
),

survey as (
    select
        phases.team,
        phases.phase,
        count(sentiment.yes_pct) as survey_waves,
        avg(sentiment.yes_pct) as ai_tool_users_pct
    from phases
    left join sentiment
        on sentiment.team = phases.team
        and {{ flowmart_ai_phase('phases', 'sentiment.wave_start') }} = phases.phase
    group by 1, 2
),

-- the team's value stream in the same phase: small teams' own waves are often suppressed
value_stream_survey as (
    select
        phases.team,
        phases.phase,
        avg(value_stream_sentiment.yes_pct) as value_stream_ai_tool_users_pct
    from phases
    left join value_stream_sentiment
        on value_stream_sentiment.value_stream = phases.value_stream
        and {{ flowmart_ai_phase('phases', 'value_stream_sentiment.wave_start') }} = phases.phase
    group by 1, 2
)

select
    cast(phases.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(phases.team as {{ flowmart_string() }}) as team,
    cast(phases.adoption_month as date) as adoption_month,
    cast(phases.phase as {{ flowmart_string() }}) as phase,
    cast(changes.pull_requests_merged as integer) as pull_requests_merged,
    cast(changes.ai_assisted_pull_requests as integer) as ai_assisted_pull_requests,
    cast(100.0 * changes.ai_assisted_pull_requests / nullif(changes.pull_requests_merged, 0) as {{ flowmart_double() }})
        as ai_assisted_pct,
    cast(survey.survey_waves as integer) as survey_waves,
    cast(survey.ai_tool_users_pct as {{ flowmart_double() }}) as ai_tool_users_pct,
    cast(value_stream_survey.value_stream_ai_tool_users_pct as {{ flowmart_double() }}) as value_stream_ai_tool_users_pct,
    cast(changes.ai_assisted_change_lead_time_p50_hours as {{ flowmart_double() }}) as ai_assisted_change_lead_time_p50_hours,
    cast(changes.other_change_lead_time_p50_hours as {{ flowmart_double() }}) as other_change_lead_time_p50_hours,
    cast(failures.deployments_with_ai_assisted_changes as integer) as deployments_with_ai_assisted_changes,
    cast(failures.deployments_without_ai_assisted_changes as integer) as deployments_without_ai_assisted_changes,
    cast(failures.ai_assisted_change_fail_rate_pct as {{ flowmart_double() }}) as ai_assisted_change_fail_rate_pct,
    cast(failures.other_change_fail_rate_pct as {{ flowmart_double() }}) as other_change_fail_rate_pct,
    cast(flow.items_completed as integer) as items_completed,
    cast(flow.flow_time_p50_days as {{ flowmart_double() }}) as flow_time_p50_days

from phases
inner join changes on changes.team = phases.team and changes.phase = phases.phase
inner join failures on failures.team = phases.team and failures.phase = phases.phase
inner join flow on flow.team = phases.team and flow.phase = phases.phase
inner join survey on survey.team = phases.team and survey.phase = phases.phase
inner join value_stream_survey on value_stream_survey.team = phases.team and value_stream_survey.phase = phases.phase
