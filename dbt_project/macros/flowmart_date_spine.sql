{#- One row per period start (column `period_start`, a date) from `start_expr` to `end_expr` inclusive.
    `period` is day, week or month; starts are truncated to the period (weeks start on Monday). -#}
{% macro flowmart_date_spine(period, start_expr, end_expr) -%}
    select cast(spine.period_start as date) as period_start
    from generate_series(
        cast({{ dbt.date_trunc(period, start_expr) }} as {{ dbt.type_timestamp() }}),
        cast({{ dbt.date_trunc(period, end_expr) }} as {{ dbt.type_timestamp() }}),
        interval '1 {{ period }}'
    ) as spine(period_start)
{%- endmacro %}
