{#- Calendar helpers of the flow models. Timestamps are naive UTC (see flowmart_utc), so `cast(ts as date)`
    is the UTC calendar day, whatever the session time zone. -#}

{#- `days` days after (before, when negative) the date `d`, as a date. -#}
{% macro flowmart_add_days(d, days) -%}
    cast({{ dbt.dateadd('day', days, d) }} as date)
{%- endmacro %}

{#- The reporting grains, one row each in a column `grain`: week, month, quarter. -#}
{% macro flowmart_grains() -%}
    select 'week' as grain
    union all
    select 'month' as grain
    union all
    select 'quarter' as grain
{%- endmacro %}

{#- The first day (a date) of the week (ISO, Monday), month or quarter holding the date `d`;
    `grain` is a SQL expression giving 'week', 'month' or 'quarter'. -#}
{% macro flowmart_period_start(grain, d) -%}
    {%- set ts = 'cast(' ~ d ~ ' as ' ~ dbt.type_timestamp() ~ ')' -%}
    case {{ grain }}
        when 'week' then cast({{ dbt.date_trunc('week', ts) }} as date)
        when 'month' then cast({{ dbt.date_trunc('month', ts) }} as date)
        when 'quarter' then cast({{ dbt.date_trunc('quarter', ts) }} as date)
    end
{%- endmacro %}

{#- The last day (inclusive, a date) of the period of `grain` that starts on `period_start`. -#}
{% macro flowmart_period_end(grain, period_start) -%}
    case {{ grain }}
        when 'week' then {{ flowmart_add_days(period_start, 6) }}
        when 'month' then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, period_start)) }} as date)
        when 'quarter' then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, period_start)) }} as date)
    end
{%- endmacro %}

{#- A date spine: one row (`spine_day`, a date) per day from `spine_start` to `spine_end` inclusive, the two
    columns of the one-row relation or CTE named `bounds`. Offsets come from a cross join of 15 bits
    (up to 32,768 days, ~89 years), so it is plain SQL on every database and needs no package. -#}
{% macro flowmart_day_spine(bounds) -%}
    {{ return(adapter.dispatch('flowmart_day_spine')(bounds)) }}
{%- endmacro %}

{% macro default__flowmart_day_spine(bounds) -%}
    {%- set bits = range(15) -%}
    select {{ flowmart_add_days(bounds ~ '.spine_start', 'spine_offsets.day_offset') }} as spine_day
    from {{ bounds }}
    cross join (
        select
            {% for i in bits %}bit_{{ i }}.v * {{ 2 ** i }}{% if not loop.last %} + {% endif %}{% endfor %} as day_offset
        from
            {% for i in bits -%}
            (select 0 as v union all select 1 as v) as bit_{{ i }}{% if not loop.last %}
            cross join {% endif %}
            {%- endfor %}
    ) as spine_offsets
    where spine_offsets.day_offset <= {{ dbt.datediff(bounds ~ '.spine_start', bounds ~ '.spine_end', 'day') }}
{%- endmacro %}

{#- Spark: its sequence generator (a 15-way cross join is a slow plan there). -#}
{% macro spark__flowmart_day_spine(bounds) -%}
    select explode(sequence(cast({{ bounds }}.spine_start as date), cast({{ bounds }}.spine_end as date), interval 1 day))
        as spine_day
    from {{ bounds }}
    where {{ bounds }}.spine_start <= {{ bounds }}.spine_end
{%- endmacro %}

{#- The work items the flow metrics are computed over: tracker work items and incidents. Epics and
    initiatives are containers (their flow is the flow of their children): int_work_items_measured measures
    them too (for the outcome models), and every flow model keeps to these roles. -#}
{% macro flowmart_flow_item_roles() -%}
    ('work_item', 'incident')
{%- endmacro %}
