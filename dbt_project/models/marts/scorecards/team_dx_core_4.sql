{#- The DX Core 4 view per team and month (DOMAIN.md, "Scorecards that combine the four"), at team level
    only, every figure read from the mart that computes it:
    * speed: merged pull requests per engineer (the team's merged pull requests ÷ the members the org config
      lists; never per person), change lead time p50 (delivery_metrics_by_team), flow time p50
      (flow_metrics_by_team);
    * effectiveness: the experience index of the team's latest survey wave started by the month's end
      (team_sentiment), flow efficiency (flow_metrics_by_team);
    * quality: change fail rate, recovery time p50 (delivery_metrics_by_team), defect share of completed work
      (flow_metrics_by_team);
    * impact: feature share of completed work (new capabilities, flow_metrics_by_team), aligned work (share of
      completed items under epics linked to a key result) and the Feature Factory Ratio of the team's epics
      (outcome_metrics_by_team).
    One row per team and month that either mart has. -#}
{%- set excluded_dimensions = var('experience_index_excluded_dimensions', ['ai_usage', 'enps']) -%}

with

delivery as (
    select * from {{ ref('delivery_metrics_by_team') }}
    where grain = 'month'
),

flow as (
    select * from {{ ref('flow_metrics_by_team') }}
    where grain = 'month'
),

outcomes as (
    select * from {{ ref('outcome_metrics_by_team') }}
    where grain = 'month'
),

sentiment as (
    select * from {{ ref('team_sentiment') }}
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

months as (
    select team, month_start, {{ flowmart_period_end("'month'", 'month_start') }} as month_end
    from (
        select team, period_start as month_start from delivery
        union
        select team, period_start as month_start from flow
    ) as both_marts
),

experience as (
    select
        team,
        wave,
        wave_start,
        avg(favourable_pct) as experience_index,
        count(favourable_pct) as experience_index_dimensions
    from sentiment
    where dimension not in ('{{ excluded_dimensions | join("', '") }}')
    group by 1, 2, 3
),

latest_waves as (
    select team, month_start, wave, experience_index, experience_index_dimensions
    from (
        select
            months.team,
            months.month_start,
            experience.wave,
            experience.experience_index,
            experience.experience_index_dimensions,
            row_number() over (
                partition by months.team, months.month_start order by experience.wave_start desc, experience.wave desc
            ) as wave_rank
        from months
        inner join experience
            on experience.team = months.team
            and experience.wave_start <= months.month_end
    ) as ranked
    where wave_rank = 1
)

select
    cast(teams.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(months.team as {{ flowmart_string() }}) as team,
    cast(months.month_start as date) as month_start,
    cast(coalesce(delivery.is_period_complete, flow.is_period_complete) as boolean) as is_period_complete,
    cast(teams.member_count as integer) as team_size,
    -- speed
    cast(delivery.pull_requests_merged as integer) as pull_requests_merged,
    cast(1.0 * delivery.pull_requests_merged / nullif(teams.member_count, 0) as {{ flowmart_double() }})
        as merged_pull_requests_per_engineer,
    cast(delivery.change_lead_time_p50_hours as {{ flowmart_double() }}) as change_lead_time_p50_hours,
    cast(flow.flow_time_p50_days as {{ flowmart_double() }}) as flow_time_p50_days,
    -- effectiveness
    cast(latest_waves.wave as {{ flowmart_string() }}) as experience_wave,
    cast(latest_waves.experience_index as {{ flowmart_double() }}) as experience_index,
    cast(latest_waves.experience_index_dimensions as integer) as experience_index_dimensions,
    cast(flow.flow_efficiency_pct as {{ flowmart_double() }}) as flow_efficiency_pct,
    -- quality
    cast(delivery.change_fail_rate_pct as {{ flowmart_double() }}) as change_fail_rate_pct,
    cast(delivery.recovery_time_p50_hours as {{ flowmart_double() }}) as recovery_time_p50_hours,
    cast(flow.completed_share_defect_pct as {{ flowmart_double() }}) as defect_share_pct,
    -- impact
    cast(flow.completed_share_feature_pct as {{ flowmart_double() }}) as feature_share_pct,
    cast(outcomes.aligned_items_pct as {{ flowmart_double() }}) as aligned_items_pct,
    cast(outcomes.feature_factory_ratio_pct as {{ flowmart_double() }}) as feature_factory_ratio_pct

from months
inner join teams on teams.team = months.team
left join delivery on delivery.team = months.team and delivery.period_start = months.month_start
left join flow on flow.team = months.team and flow.period_start = months.month_start
left join outcomes on outcomes.team = months.team and outcomes.period_start = months.month_start
left join latest_waves on latest_waves.team = months.team and latest_waves.month_start = months.month_start
