{#- The reporting clock as a naive UTC timestamp: var('flowmart_now') when set (unit tests pin it),
    else the current time. Every "now" in the models goes through this macro. -#}
{% macro flowmart_now() -%}
    {%- if var('flowmart_now', none) -%}
        cast('{{ var("flowmart_now") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ flowmart_utc('current_timestamp') }}
    {%- endif -%}
{%- endmacro %}

{#- An instant (timestamp with time zone) as a naive UTC timestamp, whatever the session time zone. -#}
{% macro flowmart_utc(expression) -%}
    cast(({{ expression }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}
