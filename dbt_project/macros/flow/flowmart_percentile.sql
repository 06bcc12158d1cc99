{#- Continuous percentile (linear interpolation) of `expr` as an aggregate, `p` in [0, 1]; nulls ignored.
    DuckDB: quantile_cont(expr, p); PostgreSQL: percentile_cont(p) within group (order by expr). -#}
{% macro flowmart_percentile(expr, p) -%}
    {{ return(adapter.dispatch('flowmart_percentile')(expr, p)) }}
{%- endmacro %}

{% macro default__flowmart_percentile(expr, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__flowmart_percentile(expr, p) -%}
    quantile_cont({{ expr }}, {{ p }})
{%- endmacro %}

{#- Spark: `percentile` is the exact continuous percentile (percentile_approx would not give the same figures). -#}
{% macro spark__flowmart_percentile(expr, p) -%}
    percentile({{ expr }}, {{ p }})
{%- endmacro %}
