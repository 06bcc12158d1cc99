{#- The AI adoption phase of an instant for a team, from the relation/CTE `phases` (team, adoption_month):
    no_adoption when the team never adopted, before_adoption before its adoption month, else after_adoption. -#}
{% macro flowmart_ai_phase(phases, instant) -%}
    case
        when {{ phases }}.adoption_month is null then 'no_adoption'
        when cast({{ instant }} as date) < {{ phases }}.adoption_month then 'before_adoption'
        else 'after_adoption'
    end
{%- endmacro %}
