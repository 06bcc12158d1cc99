-- Flow Distribution: in every team and value-stream period with completions, the shares of the four flow
-- item types among completed items sum to 100 %; likewise among the items in progress at period end.
{%- set types = ['feature', 'defect', 'debt', 'risk'] %}
{%- for mart in ['flow_metrics_by_team', 'flow_metrics_by_value_stream'] %}
{%- for kind, guard in [('completed', 'items_completed'), ('in_progress', 'flow_load_end')] %}
select
    '{{ mart }}' as mart,
    '{{ kind }}' as distribution,
    value_stream,
    grain,
    period_start,
    {% for t in types %}coalesce({{ kind }}_share_{{ t }}_pct, 0){% if not loop.last %} + {% endif %}{% endfor %} as share_sum
from {{ ref(mart) }}
where
    {{ guard }} > 0
    and abs({% for t in types %}coalesce({{ kind }}_share_{{ t }}_pct, 0){% if not loop.last %} + {% endif %}{% endfor %} - 100) > 0.001
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
