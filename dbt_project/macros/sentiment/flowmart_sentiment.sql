{#- The wave, dimension and figure columns of the sentiment marts, cast to their contract types, from the
    relation/CTE `cells` (int_sentiment_cells_suppressed). -#}
{% macro flowmart_sentiment_columns(cells) -%}
    cast({{ cells }}.wave as {{ flowmart_string() }}) as wave,
    cast({{ cells }}.wave_start as date) as wave_start,
    cast({{ cells }}.dimension as {{ flowmart_string() }}) as dimension,
    cast({{ cells }}.group_size as integer) as group_size,
    cast({{ cells }}.respondents as integer) as respondents,
    cast({{ cells }}.answers as integer) as answers,
    cast({{ cells }}.participation_pct as {{ flowmart_double() }}) as participation_pct,
    cast({{ cells }}.is_suppressed as boolean) as is_suppressed,
    cast({{ cells }}.suppression_reason as {{ flowmart_string() }}) as suppression_reason,
    cast({{ cells }}.mean_score as {{ flowmart_double() }}) as mean_score,
    cast({{ cells }}.favourable_pct as {{ flowmart_double() }}) as favourable_pct,
    cast({{ cells }}.yes_pct as {{ flowmart_double() }}) as yes_pct,
    cast({{ cells }}.promoters_pct as {{ flowmart_double() }}) as promoters_pct,
    cast({{ cells }}.detractors_pct as {{ flowmart_double() }}) as detractors_pct,
    cast({{ cells }}.enps as {{ flowmart_double() }}) as enps,
    cast({{ cells }}.previous_wave as {{ flowmart_string() }}) as previous_wave,
    cast({{ cells }}.mean_score_change as {{ flowmart_double() }}) as mean_score_change,
    cast({{ cells }}.favourable_pct_change as {{ flowmart_double() }}) as favourable_pct_change,
    cast({{ cells }}.yes_pct_change as {{ flowmart_double() }}) as yes_pct_change,
    cast({{ cells }}.enps_change as {{ flowmart_double() }}) as enps_change
{%- endmacro %}

{#- An aggregate: the share (percent, double precision) of the rows matching `condition` among the rows matching
    `population`; null when none matches `population`. -#}
{% macro flowmart_share_pct(condition, population) -%}
    cast(
        100.0 * sum(case when {{ condition }} then 1 else 0 end)
        / nullif(sum(case when {{ population }} then 1 else 0 end), 0)
        as {{ flowmart_double() }}
    )
{%- endmacro %}
