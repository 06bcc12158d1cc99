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
        scope_name as team,
        period_start as month_start,
        is_period_complete,
        '{{ name }}' as metric,
        {{ higher_is_better }} as higher_is_better,
        cast({{ name }} as double precision) as metric_value
    from monthly
    {% if not loop.last %}
    union all
    {% endif -%}
    {% endfor %}
),

baselines as (
    select
        current_month.team,
        current_month.metric,
        current_month.month_start,
        {{ flowmart_percentile('previous_months.metric_value', 0.5) }} as baseline_value,
        count(previous_months.metric_value) as baseline_months
    from metric_values as current_month
    left join metric_values as previous_months
        on current_month.team = previous_months.team
        and current_month.metric = previous_months.metric
        and previous_months.month_start < current_month.month_start
        and previous_months.month_start >= {{ dbt.dateadd('month', -3, 'current_month.month_start') }}
    group by 1, 2, 3
),

compared as (
    select
        metric_values.*,
        baselines.baseline_value,
        baselines.baseline_months,
        metric_values.metric_value - baselines.baseline_value as change,
        case
            when metric_values.metric_value is null or baselines.baseline_value is null then null
            when baselines.baseline_value = 0 and metric_values.metric_value = 0 then 0.0
            when baselines.baseline_value = 0 then null
            else 100.0 * (metric_values.metric_value - baselines.baseline_value) / abs(baselines.baseline_value)
        end as change_pct
    from metric_values
    inner join baselines
        on metric_values.team = baselines.team
        and metric_values.metric = baselines.metric
        and metric_values.month_start = baselines.month_start
)

select
    cast(teams.value_stream as varchar) as value_stream,
    cast(compared.team as varchar) as team,
    cast(compared.month_start as date) as month_start,
    cast(compared.is_period_complete as boolean) as is_period_complete,
    cast(compared.metric as varchar) as metric,
    cast(compared.higher_is_better as boolean) as higher_is_better,
    cast(compared.metric_value as double precision) as metric_value,
    cast(compared.baseline_value as double precision) as baseline_value,
    cast(compared.baseline_months as integer) as baseline_months,
    cast(compared.change as double precision) as change,
    cast(compared.change_pct as double precision) as change_pct,
    cast(case
        when compared.change is null then null
        -- a change from a zero baseline has no percentage: its sign decides
        when compared.change_pct is not null and abs(compared.change_pct) <= {{ stable_pct }} then 'stable'
        when (compared.change > 0) = compared.higher_is_better then 'improving'
        else 'worsening'
    end as varchar) as direction
from compared
left join teams on teams.team = compared.team
