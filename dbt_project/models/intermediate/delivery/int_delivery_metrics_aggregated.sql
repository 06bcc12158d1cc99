-- The delivery metrics (DOMAIN.md, "Delivery") per scope (service, team, value stream), grain (week, month,
-- quarter) and period, one row for every period from the scope's first deployment or merged pull request to
-- now, empty periods included. Deployments count in the period of their finish, changes in the period of
-- their deployment, pull requests (input metrics) in the period of their merge. Deployment days per week:
-- the median, over the complete weeks (Monday to Sunday, UTC) that start in the period, of the days with a
-- counted deployment; null before a week of the period is complete. Bands: the configured DORA band set.
with

deployments as (
    select * from {{ ref('int_deployments_unified') }}
    where is_counted
),

assessed as (
    select * from {{ ref('int_deployments_assessed') }}
),

pull_requests as (
    select * from {{ ref('int_pull_requests_measured') }}
),

deployment_commits as (
    select * from {{ ref('int_deployment_commits_listed') }}
),

pr_commits as (
    select * from {{ ref('stg_github__pr_commits') }}
),

bands as (
    select * from {{ ref('stg_org__dora_bands') }}
),

scope_kinds as (
    select 'service' as scope_kind
    union all
    select 'team' as scope_kind
    union all
    select 'value_stream' as scope_kind
),

grains as (
    {{ flowmart_grains() }}
),

-- changes that reached production: merged pull requests, and the commits of deploy-tag ranges that belong
-- to no pull request (repositories without GitHub), lead time from the first commit authored
changes as (
    select service, team, value_stream, deployed_at, change_lead_time_hours
    from pull_requests
    where is_deployed

    union all

    select
        deployments.service,
        deployments.team,
        deployments.value_stream,
        deployments.finished_at as deployed_at,
        case
            when {{ flowmart_hours_between('deployment_commits.authored_at', 'deployments.finished_at') }} >= 0
                then {{ flowmart_hours_between('deployment_commits.authored_at', 'deployments.finished_at') }}
        end as change_lead_time_hours
    from deployment_commits
    inner join deployments on deployments.deployment_id = deployment_commits.deployment_id
    where
        deployment_commits.range_kind = 'git_history'
        and not coalesce(deployment_commits.is_merge_commit, false)
        and not exists (select 1 from pr_commits where lower(pr_commits.sha) = deployment_commits.sha)
        and not exists (
            select 1 from pull_requests where pull_requests.merge_commit_sha = deployment_commits.sha
        )
),

-- every dated fact once per scope it belongs to
scoped_deployments as (
    select
        scope_kinds.scope_kind,
        case scope_kinds.scope_kind
            when 'service' then deployments.service when 'team' then deployments.team else deployments.value_stream
        end as scope_name,
        cast(deployments.finished_at as date) as fact_day
    from deployments
    cross join scope_kinds
),

scoped_changes as (
    select
        scope_kinds.scope_kind,
        case scope_kinds.scope_kind
            when 'service' then changes.service when 'team' then changes.team else changes.value_stream
        end as scope_name,
        cast(changes.deployed_at as date) as fact_day,
        changes.change_lead_time_hours
    from changes
    cross join scope_kinds
),

scoped_assessed as (
    select
        scope_kinds.scope_kind,
        case scope_kinds.scope_kind
            when 'service' then assessed.service when 'team' then assessed.team else assessed.value_stream
        end as scope_name,
        cast(assessed.finished_at as date) as fact_day,
        assessed.is_failed,
        assessed.recovery_hours
    from assessed
    cross join scope_kinds
),

scoped_pull_requests as (
    select
        scope_kinds.scope_kind,
        case scope_kinds.scope_kind
            when 'service' then pull_requests.service when 'team' then pull_requests.team
            else pull_requests.value_stream
        end as scope_name,
        cast(pull_requests.merged_at as date) as fact_day,
        pull_requests.pickup_minutes,
        pull_requests.review_minutes,
        pull_requests.lines_changed,
        pull_requests.is_merged_without_review,
        pull_requests.rework_commit_count,
        pull_requests.is_ai_assisted
    from pull_requests
    cross join scope_kinds
    where not pull_requests.is_bot_authored
),

scope_starts as (
    select scope_kind, scope_name, min(fact_day) as first_day
    from (
        select scope_kind, scope_name, fact_day from scoped_deployments
        union all
        select scope_kind, scope_name, fact_day from scoped_assessed
        union all
        select scope_kind, scope_name, fact_day from scoped_pull_requests
    ) as facts
    where scope_name is not null and fact_day is not null
    group by scope_kind, scope_name
),

bounds as (
    select
        min(first_day) as spine_start,
        cast({{ flowmart_now() }} as date) as spine_end
    from scope_starts
),

days as (
    {{ flowmart_day_spine('bounds') }}
),

periods as (
    select distinct
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'days.spine_day') }} as period_start
    from days
    cross join grains
),

periods_with_end as (
    select
        grain,
        period_start,
        {{ flowmart_period_end('grain', 'period_start') }} as period_end
    from periods
),

scope_periods as (
    select
        scope_starts.scope_kind,
        scope_starts.scope_name,
        periods_with_end.grain,
        periods_with_end.period_start,
        periods_with_end.period_end,
        periods_with_end.period_end < cast({{ flowmart_now() }} as date) as is_period_complete
    from scope_starts
    inner join periods_with_end on periods_with_end.period_end >= scope_starts.first_day
),

period_of_day as (
    select distinct
        grains.grain,
        days.spine_day,
        {{ flowmart_period_start('grains.grain', 'days.spine_day') }} as period_start
    from days
    cross join grains
),

---------- deployment frequency
deployment_counts as (
    select
        scoped_deployments.scope_kind,
        scoped_deployments.scope_name,
        period_of_day.grain,
        period_of_day.period_start,
        count(*) as deployments,
        count(distinct scoped_deployments.fact_day) as deployment_days
    from scoped_deployments
    inner join period_of_day on period_of_day.spine_day = scoped_deployments.fact_day
    where scoped_deployments.scope_name is not null
    group by 1, 2, 3, 4
),

complete_weeks as (
    select scope_kind, scope_name, period_start as week_start, coalesce(deployment_days, 0) as deployment_days
    from scope_periods
    left join deployment_counts using (scope_kind, scope_name, grain, period_start)
    where grain = 'week' and is_period_complete
),

weekly_medians as (
    select
        scope_periods.scope_kind,
        scope_periods.scope_name,
        scope_periods.grain,
        scope_periods.period_start,
        count(complete_weeks.week_start) as complete_weeks,
        {{ flowmart_percentile('complete_weeks.deployment_days', 0.5) }} as deployment_days_per_week_p50
    from scope_periods
    inner join complete_weeks
        on complete_weeks.scope_kind = scope_periods.scope_kind
        and complete_weeks.scope_name = scope_periods.scope_name
        and complete_weeks.week_start >= scope_periods.period_start
        and complete_weeks.week_start <= scope_periods.period_end
    group by 1, 2, 3, 4
),

---------- change lead time
lead_times as (
    select
        scoped_changes.scope_kind,
        scoped_changes.scope_name,
        period_of_day.grain,
        period_of_day.period_start,
        count(*) as changes_deployed,
        {{ flowmart_percentile('scoped_changes.change_lead_time_hours', 0.5) }} as change_lead_time_p50_hours,
        {{ flowmart_percentile('scoped_changes.change_lead_time_hours', 0.85) }} as change_lead_time_p85_hours
    from scoped_changes
    inner join period_of_day on period_of_day.spine_day = scoped_changes.fact_day
    where scoped_changes.scope_name is not null
    group by 1, 2, 3, 4
),

---------- change fail rate and recovery
failures as (
    select
        scoped_assessed.scope_kind,
        scoped_assessed.scope_name,
        period_of_day.grain,
        period_of_day.period_start,
        count(*) as production_deployments,
        sum(case when scoped_assessed.is_failed then 1 else 0 end) as failed_deployments,
        {{ flowmart_percentile('scoped_assessed.recovery_hours', 0.5) }} as recovery_time_p50_hours
    from scoped_assessed
    inner join period_of_day on period_of_day.spine_day = scoped_assessed.fact_day
    where scoped_assessed.scope_name is not null
    group by 1, 2, 3, 4
),

---------- input metrics (pull requests by people, in the period of their merge)
inputs as (
    select
        scoped_pull_requests.scope_kind,
        scoped_pull_requests.scope_name,
        period_of_day.grain,
        period_of_day.period_start,
        count(*) as pull_requests_merged,
        {{ flowmart_percentile('scoped_pull_requests.pickup_minutes', 0.5) }} as pickup_p50_minutes,
        {{ flowmart_percentile('scoped_pull_requests.review_minutes', 0.5) }} as review_p50_minutes,
        {{ flowmart_percentile('scoped_pull_requests.lines_changed', 0.5) }} as pr_size_p50_lines,
        cast(100.0 * sum(case when scoped_pull_requests.is_merged_without_review then 1 else 0 end) / count(*)
            as {{ flowmart_double() }}) as merged_without_review_pct,
        cast(100.0 * sum(case when scoped_pull_requests.rework_commit_count > 0 then 1 else 0 end) / count(*)
            as {{ flowmart_double() }}) as rework_pct,
        cast(100.0 * sum(case when scoped_pull_requests.is_ai_assisted then 1 else 0 end) / count(*)
            as {{ flowmart_double() }}) as ai_assisted_pct
    from scoped_pull_requests
    inner join period_of_day on period_of_day.spine_day = scoped_pull_requests.fact_day
    where scoped_pull_requests.scope_name is not null
    group by 1, 2, 3, 4
),

joined as (
    select
        scope_periods.scope_kind,
        scope_periods.scope_name,
        scope_periods.grain,
        scope_periods.period_start,
        scope_periods.period_end,
        scope_periods.is_period_complete,
        coalesce(deployment_counts.deployments, 0) as deployments,
        coalesce(deployment_counts.deployment_days, 0) as deployment_days,
        coalesce(weekly_medians.complete_weeks, 0) as complete_weeks,
        weekly_medians.deployment_days_per_week_p50,
        coalesce(lead_times.changes_deployed, 0) as changes_deployed,
        lead_times.change_lead_time_p50_hours,
        lead_times.change_lead_time_p85_hours,
        coalesce(failures.production_deployments, 0) as production_deployments,
        coalesce(failures.failed_deployments, 0) as failed_deployments,
        cast(case
            when failures.production_deployments > 0
                then 100.0 * failures.failed_deployments / failures.production_deployments
        end as {{ flowmart_double() }}) as change_fail_rate_pct,
        failures.recovery_time_p50_hours,
        coalesce(inputs.pull_requests_merged, 0) as pull_requests_merged,
        inputs.pickup_p50_minutes,
        inputs.review_p50_minutes,
        inputs.pr_size_p50_lines,
        inputs.merged_without_review_pct,
        inputs.rework_pct,
        inputs.ai_assisted_pct
    from scope_periods
    left join deployment_counts using (scope_kind, scope_name, grain, period_start)
    left join weekly_medians using (scope_kind, scope_name, grain, period_start)
    left join lead_times using (scope_kind, scope_name, grain, period_start)
    left join failures using (scope_kind, scope_name, grain, period_start)
    left join inputs using (scope_kind, scope_name, grain, period_start)
),

-- the best (lowest rank) DORA band holding each metric value (a join, not a correlated subquery: Spark
-- would rebuild the whole query once per band column)
band_ranks as (
    select
        joined.scope_kind,
        joined.scope_name,
        joined.grain,
        joined.period_start,
        min(case when {{ flowmart_dora_band_holds('bands', 'deployment_days_per_week',
                                                 'joined.deployment_days_per_week_p50') }}
            then bands.band_rank end) as deployment_frequency_rank,
        min(case when {{ flowmart_dora_band_holds('bands', 'change_lead_time_hours',
                                                 'joined.change_lead_time_p50_hours') }}
            then bands.band_rank end) as change_lead_time_rank,
        min(case when {{ flowmart_dora_band_holds('bands', 'change_fail_rate_pct', 'joined.change_fail_rate_pct') }}
            then bands.band_rank end) as change_fail_rate_rank,
        min(case when {{ flowmart_dora_band_holds('bands', 'recovery_time_hours', 'joined.recovery_time_p50_hours') }}
            then bands.band_rank end) as recovery_time_rank
    from joined
    cross join bands
    group by 1, 2, 3, 4
)

select
    joined.*,
    frequency_bands.band as deployment_frequency_band,
    lead_time_bands.band as change_lead_time_band,
    fail_rate_bands.band as change_fail_rate_band,
    recovery_bands.band as recovery_time_band
from joined
left join band_ranks
    on band_ranks.scope_kind = joined.scope_kind
    and band_ranks.scope_name = joined.scope_name
    and band_ranks.grain = joined.grain
    and band_ranks.period_start = joined.period_start
left join bands as frequency_bands
    on frequency_bands.metric = 'deployment_days_per_week'
    and frequency_bands.band_rank = band_ranks.deployment_frequency_rank
left join bands as lead_time_bands
    on lead_time_bands.metric = 'change_lead_time_hours'
    and lead_time_bands.band_rank = band_ranks.change_lead_time_rank
left join bands as fail_rate_bands
    on fail_rate_bands.metric = 'change_fail_rate_pct'
    and fail_rate_bands.band_rank = band_ranks.change_fail_rate_rank
left join bands as recovery_bands
    on recovery_bands.metric = 'recovery_time_hours'
    and recovery_bands.band_rank = band_ranks.recovery_time_rank
