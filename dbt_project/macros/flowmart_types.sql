{#- Column types the models cast to, one name per target: Spark has no `varchar` without a length, no
    `double precision` and no `timestamp with time zone` (its `timestamp` is an instant, read in UTC). -#}
{% macro flowmart_string() -%}
    {{ return(adapter.dispatch('flowmart_string')()) }}
{%- endmacro %}
{% macro default__flowmart_string() -%} varchar {%- endmacro %}
{% macro spark__flowmart_string() -%} string {%- endmacro %}

{% macro flowmart_double() -%}
    {{ return(adapter.dispatch('flowmart_double')()) }}
{%- endmacro %}
{% macro default__flowmart_double() -%} double precision {%- endmacro %}
{% macro spark__flowmart_double() -%} double {%- endmacro %}

{% macro flowmart_timestamptz() -%}
    {{ return(adapter.dispatch('flowmart_timestamptz')()) }}
{%- endmacro %}
{% macro default__flowmart_timestamptz() -%} timestamp with time zone {%- endmacro %}
{% macro spark__flowmart_timestamptz() -%} timestamp {%- endmacro %}

{#- A type name of the source YAML (PostgreSQL's names) as the target spells it. -#}
{% macro flowmart_source_type(data_type) -%}
    {{ return(adapter.dispatch('flowmart_source_type')(data_type)) }}
{%- endmacro %}
{% macro default__flowmart_source_type(data_type) -%} {{ data_type }} {%- endmacro %}
{% macro spark__flowmart_source_type(data_type) -%}
    {%- set names = {'text': 'string', 'double precision': 'double', 'timestamp with time zone': 'timestamp'} -%}
    {{ names.get(data_type | lower, data_type) }}
{%- endmacro %}
