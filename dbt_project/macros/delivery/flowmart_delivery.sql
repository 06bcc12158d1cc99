{#- Small helpers of the delivery models. -#}

{#- True when the environment name (an expression) is a production environment: the names GitHub's loader
    treats as production by default, for the sources that give a name only (Git tags, delivery-events files). -#}
{% macro flowmart_is_production_environment(environment) -%}
    coalesce(lower({{ environment }}) in ('production', 'prod', 'prd', 'live'), false)
{%- endmacro %}

{#- Minutes (double precision) from instant `a` to instant `b`; null when b is before a (a data
    inconsistency, never a negative duration) or when either is null. -#}
{% macro flowmart_minutes_if_not_negative(a, b) -%}
    case
        when {{ flowmart_hours_between(a, b) }} >= 0 then {{ flowmart_hours_between(a, b) }} * 60.0
    end
{%- endmacro %}

{#- True when the row `band` of stg_org__dora_bands (metric, band, band_rank, min_value, max_value) is a band of
    `metric` (a literal) whose range holds `value` (an expression). Lower bounds are inclusive and upper bounds
    exclusive, except for the change fail rate, whose thresholds are "at most" (upper bound inclusive, lower
    bound exclusive). Never true for a null value. A value's band is the best (lowest rank) band that holds it. -#}
{% macro flowmart_dora_band_holds(band, metric, value) -%}
    ({{ band }}.metric = '{{ metric }}'
        and {{ value }} is not null
        {%- if metric == 'change_fail_rate_pct' %}
        and ({{ band }}.min_value is null or {{ value }} > {{ band }}.min_value)
        and ({{ band }}.max_value is null or {{ value }} <= {{ band }}.max_value)
        {%- else %}
        and ({{ band }}.min_value is null or {{ value }} >= {{ band }}.min_value)
        and ({{ band }}.max_value is null or {{ value }} < {{ band }}.max_value)
        {%- endif %})
{%- endmacro %}

{#- The period and metric columns of the delivery metric marts, cast to their contract types, from the
    relation/CTE `metrics` (int_delivery_metrics_aggregated). -#}
{% macro flowmart_delivery_metric_columns(metrics) -%}
    cast({{ metrics }}.grain as {{ flowmart_string() }}) as grain,
    cast({{ metrics }}.period_start as date) as period_start,
    cast({{ metrics }}.period_end as date) as period_end,
    cast({{ metrics }}.is_period_complete as boolean) as is_period_complete,
    cast({{ metrics }}.deployments as integer) as deployments,
    cast({{ metrics }}.deployment_days as integer) as deployment_days,
    cast({{ metrics }}.complete_weeks as integer) as complete_weeks,
    cast({{ metrics }}.deployment_days_per_week_p50 as {{ flowmart_double() }}) as deployment_days_per_week_p50,
    cast({{ metrics }}.deployment_frequency_band as {{ flowmart_string() }}) as deployment_frequency_band,
    cast({{ metrics }}.changes_deployed as integer) as changes_deployed,
    cast({{ metrics }}.change_lead_time_p50_hours as {{ flowmart_double() }}) as change_lead_time_p50_hours,
    cast({{ metrics }}.change_lead_time_p85_hours as {{ flowmart_double() }}) as change_lead_time_p85_hours,
    cast({{ metrics }}.change_lead_time_band as {{ flowmart_string() }}) as change_lead_time_band,
    cast({{ metrics }}.production_deployments as integer) as production_deployments,
    cast({{ metrics }}.failed_deployments as integer) as failed_deployments,
    cast({{ metrics }}.change_fail_rate_pct as {{ flowmart_double() }}) as change_fail_rate_pct,
    cast({{ metrics }}.change_fail_rate_band as {{ flowmart_string() }}) as change_fail_rate_band,
    cast({{ metrics }}.recovery_time_p50_hours as {{ flowmart_double() }}) as recovery_time_p50_hours,
    cast({{ metrics }}.recovery_time_band as {{ flowmart_string() }}) as recovery_time_band,
    cast({{ metrics }}.pull_requests_merged as integer) as pull_requests_merged,
    cast({{ metrics }}.pickup_p50_minutes as {{ flowmart_double() }}) as pickup_p50_minutes,
    cast({{ metrics }}.review_p50_minutes as {{ flowmart_double() }}) as review_p50_minutes,
    cast({{ metrics }}.pr_size_p50_lines as {{ flowmart_double() }}) as pr_size_p50_lines,
    cast({{ metrics }}.merged_without_review_pct as {{ flowmart_double() }}) as merged_without_review_pct,
    cast({{ metrics }}.rework_pct as {{ flowmart_double() }}) as rework_pct,
    cast({{ metrics }}.ai_assisted_pct as {{ flowmart_double() }}) as ai_assisted_pct
{%- endmacro %}
