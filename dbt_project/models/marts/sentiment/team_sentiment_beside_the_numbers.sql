{#- "People say X, data says Y" in one query: each survey dimension of a team's wave next to the flow or
    delivery figures it speaks about, of the wave's quarter and of the quarter before. Which figure a
    dimension speaks about is the var `sentiment_dimension_metrics` (a list of {dimension, source: delivery
    or flow, metric: a column of delivery_metrics_by_team / flow_metrics_by_team, higher_is_better}); a
    dimension without a figure (satisfaction, enps by default) is left out. Figures are read from the team
    marts of the quarter grain, never recomputed; survey values come from team_sentiment, so a suppressed
    cell stays null here too. -#}
{%- set default_mapping = [
    {'dimension': 'code_review', 'source': 'delivery', 'metric': 'pickup_p50_minutes', 'higher_is_better': false},
    {'dimension': 'code_review', 'source': 'delivery', 'metric': 'review_p50_minutes', 'higher_is_better': false},
    {'dimension': 'ease_of_release', 'source': 'delivery', 'metric': 'deployment_days_per_week_p50', 'higher_is_better': true},
    {'dimension': 'ease_of_release', 'source': 'delivery', 'metric': 'change_lead_time_p50_hours', 'higher_is_better': false},
    {'dimension': 'ease_of_release', 'source': 'delivery', 'metric': 'change_fail_rate_pct', 'higher_is_better': false},
    {'dimension': 'deep_work', 'source': 'flow', 'metric': 'flow_efficiency_pct', 'higher_is_better': true},
    {'dimension': 'deep_work', 'source': 'flow', 'metric': 'flow_load_avg', 'higher_is_better': false},
    {'dimension': 'tooling', 'source': 'flow', 'metric': 'flow_time_p50_days', 'higher_is_better': false},
    {'dimension': 'tooling', 'source': 'delivery', 'metric': 'change_lead_time_p50_hours', 'higher_is_better': false},
    {'dimension': 'ai_usage', 'source': 'delivery', 'metric': 'ai_assisted_pct', 'higher_is_better': none},
] -%}
{%- set mapping = var('sentiment_dimension_metrics', default_mapping) -%}
{%- set sources = {'delivery': 'delivery', 'flow': 'flow'} -%}

with

sentiment as (
    select * from {{ ref('team_sentiment') }}
),

delivery as (
    select * from {{ ref('delivery_metrics_by_team') }}
    where grain = 'quarter'
),

flow as (
    select * from {{ ref('flow_metrics_by_team') }}
    where grain = 'quarter'
),

dimension_metrics as (
    {% for m in mapping -%}
    select
        '{{ m.dimension }}' as dimension,
        '{{ sources[m.source] }}' as metric_source,
        '{{ m.metric }}' as metric,
        {% if m.higher_is_better is none %}cast(null as boolean){% else %}{{ m.higher_is_better }}{% endif %} as higher_is_better
    {% if not loop.last %}
    union all
    {% endif -%}
    {% endfor %}
),

metric_values as (
    {% for m in mapping -%}
    select
        team,
        period_start as quarter_start,
        is_period_complete,
        '{{ m.dimension }}' as dimension,
        '{{ m.metric }}' as metric,
        cast({{ m.metric }} as {{ flowmart_double() }}) as metric_value
    from {{ sources[m.source] }}
    {% if not loop.last %}
    union all
    {% endif -%}
    {% endfor %}
),

waves as (
    select
        sentiment.*,
        {{ flowmart_period_start("'quarter'", 'sentiment.wave_start') }} as quarter_start
    from sentiment
)

select
    cast(waves.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(waves.team as {{ flowmart_string() }}) as team,
    cast(waves.wave as {{ flowmart_string() }}) as wave,
    cast(waves.quarter_start as date) as quarter_start,
    cast(current_quarter.is_period_complete as boolean) as is_period_complete,
    cast(waves.dimension as {{ flowmart_string() }}) as dimension,
    cast(waves.respondents as integer) as respondents,
    cast(waves.is_suppressed as boolean) as is_suppressed,
    cast(waves.mean_score as {{ flowmart_double() }}) as mean_score,
    cast(waves.favourable_pct as {{ flowmart_double() }}) as favourable_pct,
    cast(waves.yes_pct as {{ flowmart_double() }}) as yes_pct,
    cast(waves.favourable_pct_change as {{ flowmart_double() }}) as favourable_pct_change,
    cast(dimension_metrics.metric_source as {{ flowmart_string() }}) as metric_source,
    cast(dimension_metrics.metric as {{ flowmart_string() }}) as metric,
    cast(dimension_metrics.higher_is_better as boolean) as higher_is_better,
    cast(current_quarter.metric_value as {{ flowmart_double() }}) as metric_value,
    cast(previous_quarter.metric_value as {{ flowmart_double() }}) as previous_quarter_metric_value,
    cast(current_quarter.metric_value - previous_quarter.metric_value as {{ flowmart_double() }}) as metric_change

from waves
inner join dimension_metrics on dimension_metrics.dimension = waves.dimension
left join metric_values as current_quarter
    on current_quarter.team = waves.team
    and current_quarter.dimension = dimension_metrics.dimension
    and current_quarter.metric = dimension_metrics.metric
    and current_quarter.quarter_start = waves.quarter_start
left join metric_values as previous_quarter
    on previous_quarter.team = waves.team
    and previous_quarter.dimension = dimension_metrics.dimension
    and previous_quarter.metric = dimension_metrics.metric
    and previous_quarter.quarter_start = cast({{ dbt.dateadd('month', -3, 'waves.quarter_start') }} as date)
