{#- The reporting clock as a naive UTC timestamp: var('flowmart_now') when set (unit tests pin it), else the
    environment variable FLOWMART_NOW (a UTC 'YYYY-MM-DD HH:MM:SS', to rebuild "as of" an instant without
    invalidating dbt's partial parse), else the current time. Every "now" in the models goes through this
    macro. -#}
{% macro flowmart_now() -%}
    {%- set pinned = var('flowmart_now', none) or env_var('FLOWMART_NOW', '') -%}
    {%- if pinned -%}
        cast('{{ pinned }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ flowmart_utc('current_timestamp') }}
    {%- endif -%}
{%- endmacro %}

{#- An instant (timestamp with time zone) as a naive UTC timestamp, whatever the session time zone. -#}
{% macro flowmart_utc(expression) -%}
    {{ return(adapter.dispatch('flowmart_utc')(expression)) }}
{%- endmacro %}
{% macro default__flowmart_utc(expression) -%}
    cast(({{ expression }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}
{#- Spark's timestamp is an instant; the profile sets the session time zone to UTC, so it reads as UTC. -#}
{% macro spark__flowmart_utc(expression) -%}
    cast({{ expression }} as timestamp)
{%- endmacro %}
