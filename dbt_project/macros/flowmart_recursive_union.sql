{#- The set operator of a recursive CTE's step. `union` stops at rows already found (a commit reached by two
    paths of a merge history is walked once); Spark only takes `union all`, so its recursion walks every path
    and the query keeps distinct rows. -#}
{% macro flowmart_recursive_union() -%}
    {{ return(adapter.dispatch('flowmart_recursive_union')()) }}
{%- endmacro %}
{% macro default__flowmart_recursive_union() -%} union {%- endmacro %}
{% macro spark__flowmart_recursive_union() -%} union all {%- endmacro %}
