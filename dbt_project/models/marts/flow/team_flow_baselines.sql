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
        cast({{ column }} as {{ flowmart_double() }}) as metric_value

    from monthly
    {% if not loop.last %}
    union all

    {% endif -%}
    {% endfor %}
),

{{ flowmart_compared_with_trailing_baseline('metric_values', stable_pct) }}
