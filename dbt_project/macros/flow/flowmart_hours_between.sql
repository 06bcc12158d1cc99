{#- Hours (double precision, fractional) from instant `a` to instant `b`; negative when b is before a.
    Computed from epoch differences so it is exact across time-zone offsets and DST changes. -#}
{% macro flowmart_hours_between(a, b) -%}
    {{ return(adapter.dispatch('flowmart_hours_between')(a, b)) }}
{%- endmacro %}

{% macro default__flowmart_hours_between(a, b) -%}
    (cast(extract(epoch from (({{ b }}) - ({{ a }}))) as {{ flowmart_double() }}) / 3600.0)
{%- endmacro %}

{% macro duckdb__flowmart_hours_between(a, b) -%}
    ((epoch({{ b }}) - epoch({{ a }})) / 3600.0)
{%- endmacro %}

{#- Days (fractional) from instant `a` to instant `b`: the flow layer's one unit of duration. -#}
{% macro flowmart_days_between(a, b) -%}
    ({{ flowmart_hours_between(a, b) }} / 24.0)
{%- endmacro %}

{#- Spark: microseconds since the epoch (its timestamps are instants), as a double: a decimal quotient would keep
    only 6 decimal places. -#}
{% macro spark__flowmart_hours_between(a, b) -%}
    (cast(unix_micros({{ b }}) - unix_micros({{ a }}) as double) / 3600000000.0)
{%- endmacro %}
