{#- Generic test: the combination of `columns` is unique (no dbt_utils here). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Generic test: none of `columns` is null — one scan of the model for several columns (cheaper than one
    not_null test per column on a big view). -#}
{% test no_nulls(model, columns) %}
select *
from {{ model }}
where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
