{#- `text` lower-cased with every run of white space made one space, trimmed. -#}
{% macro flowmart_squash_spaces(text) -%}
    {{ return(adapter.dispatch('flowmart_squash_spaces')(text)) }}
{%- endmacro %}
{% macro default__flowmart_squash_spaces(text) -%}
    trim(regexp_replace(lower({{ text }}), '\s+', ' ', 'g'))
{%- endmacro %}
{#- Spark replaces every match without a flag, and its string literals take \\ for one backslash. -#}
{% macro spark__flowmart_squash_spaces(text) -%}
    trim(regexp_replace(lower({{ text }}), '\\s+', ' '))
{%- endmacro %}

{#- The values of `expression` joined with `delimiter` in the order of `order_by`, as an aggregate. -#}
{% macro flowmart_string_agg(expression, delimiter, order_by) -%}
    {{ return(adapter.dispatch('flowmart_string_agg')(expression, delimiter, order_by)) }}
{%- endmacro %}
{% macro default__flowmart_string_agg(expression, delimiter, order_by) -%}
    string_agg({{ expression }}, {{ delimiter }} order by {{ order_by }})
{%- endmacro %}
{% macro spark__flowmart_string_agg(expression, delimiter, order_by) -%}
    string_agg({{ expression }}, {{ delimiter }}) within group (order by {{ order_by }})
{%- endmacro %}
