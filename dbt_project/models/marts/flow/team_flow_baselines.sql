{#- Each team's monthly flow metrics beside the team's own trailing baseline: the median of the metric over
    the 3 previous months (months where it is defined), with the change and a direction that knows which
    way is good. Within ±`flow_baseline_stable_pct` (default 10) percent of the baseline is 'stable'. -#}
{%- set metrics = [
    ('flow_velocity', 'items_completed', true),
    ('flow_time_p50_days', 'flow_time_p50_days', false),
    ('flow_time_p85_days', 'flow_time_p85_days', false),
    ('flow_efficiency_pct', 'flow_efficiency_pct', true),
    ('flow_load_avg', 'flow_load_avg', false),
    ('lead_time_p50_days', 'lead_time_p50_days', false),
    ('items_canceled', 'items_canceled', false),
    ('defect_share_pct', 'completed_share_defect_pct', false),
] -%}
{%- set stable_pct = var('flow_baseline_stable_pct', 10) -%}

with

monthly as (

    select * from {{ ref('int_flow_metrics_aggregated') }}
    where scope_kind = 'team' and grain = 'month'

),

metric_values as (

    {% for name, column, higher_is_better in metrics -%}
    select
        team,
        value_stream,
        period_start as month_start,
        is_period_complete,
        '{{ name }}' as metric,
        {{ higher_is_better }} as higher_is_better,
        cast({{ column }} as double precision) as metric_value

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
        case
            when metric_values.metric_value is null or baselines.baseline_value is null then null
            when baselines.baseline_value = 0 and metric_values.metric_value = 0 then 0.0
            when baselines.baseline_value = 0 then null
            else 100.0 * (metric_values.metric_value - baselines.baseline_value) / abs(baselines.baseline_value)
        end as change_pct,
        metric_values.metric_value - baselines.baseline_value as change

    from metric_values
    inner join baselines
        on metric_values.team = baselines.team
        and metric_values.metric = baselines.metric
        and metric_values.month_start = baselines.month_start

)

select
    team,
    value_stream,
    month_start,
    is_period_complete,
    cast(metric as varchar) as metric,
    higher_is_better,
    metric_value,
    cast(baseline_value as double precision) as baseline_value,
    cast(baseline_months as integer) as baseline_months,
    cast(change as double precision) as change,
    cast(change_pct as double precision) as change_pct,
    cast(case
        when change is null then null
        -- a change from a zero baseline has no percentage: its sign decides
        when change_pct is not null and abs(change_pct) <= {{ stable_pct }} then 'stable'
        when (change > 0) = higher_is_better then 'improving'
        else 'worsening'
    end as varchar) as direction

from compared
