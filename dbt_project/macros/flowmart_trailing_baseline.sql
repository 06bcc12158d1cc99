{#- A team's metrics beside its own trailing baseline, the one definition of it (docs block flow_team_baseline):
    the median of the metric over the 3 previous months where it is defined, the change from it, and a
    direction that knows which way is good, 'stable' within ± `stable_pct` percent. `metric_values` names a
    CTE with one row per team, month and metric: team, value_stream, month_start, is_period_complete, metric,
    higher_is_better, metric_value. Renders the CTEs that follow it in the model's `with` and the final
    select. -#}
{% macro flowmart_compared_with_trailing_baseline(metric_values, stable_pct) -%}
baselines as (

    select
        current_month.team,
        current_month.metric,
        current_month.month_start,
        {{ flowmart_percentile('previous_months.metric_value', 0.5) }} as baseline_value,
        count(previous_months.metric_value) as baseline_months

    from {{ metric_values }} as current_month
    left join {{ metric_values }} as previous_months
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

    from {{ metric_values }} as metric_values
    inner join baselines
        on metric_values.team = baselines.team
        and metric_values.metric = baselines.metric
        and metric_values.month_start = baselines.month_start

)

select
    cast(team as {{ flowmart_string() }}) as team,
    cast(value_stream as {{ flowmart_string() }}) as value_stream,
    cast(month_start as date) as month_start,
    cast(is_period_complete as boolean) as is_period_complete,
    cast(metric as {{ flowmart_string() }}) as metric,
    cast(higher_is_better as boolean) as higher_is_better,
    cast(metric_value as {{ flowmart_double() }}) as metric_value,
    cast(baseline_value as {{ flowmart_double() }}) as baseline_value,
    cast(baseline_months as integer) as baseline_months,
    cast(change as {{ flowmart_double() }}) as change,
    cast(change_pct as {{ flowmart_double() }}) as change_pct,
    cast(case
        when change is null then null
        -- a change from a zero baseline has no percentage: its sign decides
        -- (a change of exactly the threshold is stable on every target, whatever the last bit of the division)
        when change_pct is not null and abs(change_pct) <= {{ stable_pct }} + 0.000000001 then 'stable'
        when (change > 0) = higher_is_better then 'improving'
        else 'worsening'
    end as {{ flowmart_string() }}) as direction

from compared
{%- endmacro %}
