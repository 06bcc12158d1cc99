{#- Each team's monthly delivery input metrics (and its DORA medians) beside the team's own trailing
    baseline: the median of the metric over the 3 previous months where it is defined, with the change and
    a direction that knows which way is good. Within ±`delivery_baseline_stable_pct` (default 10) percent of
    the baseline is 'stable'. -#}
{%- set metrics = [
    ('pickup_p50_minutes', false),
    ('review_p50_minutes', false),
    ('pr_size_p50_lines', false),
    ('merged_without_review_pct', false),
    ('rework_pct', false),
    ('deployment_days_per_week_p50', true),
    ('change_lead_time_p50_hours', false),
    ('change_fail_rate_pct', false),
] -%}
{%- set stable_pct = var('delivery_baseline_stable_pct', 10) -%}

with

monthly as (
    select * from {{ ref('int_delivery_metrics_aggregated') }}
    where scope_kind = 'team' and grain = 'month'
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

metric_values as (
    {% for name, higher_is_better in metrics -%}
    select
        monthly.scope_name as team,
        teams.value_stream,
        monthly.period_start as month_start,
        monthly.is_period_complete,
        '{{ name }}' as metric,
        {{ higher_is_better }} as higher_is_better,
        cast(monthly.{{ name }} as {{ flowmart_double() }}) as metric_value
    from monthly
    left join teams on teams.team = monthly.scope_name
    {% if not loop.last %}
    union all
    {% endif -%}
    {% endfor %}
),

{{ flowmart_compared_with_trailing_baseline('metric_values', stable_pct) }}
