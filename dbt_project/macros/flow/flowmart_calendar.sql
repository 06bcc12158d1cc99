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

{#- The scope name of a work item's row for scope kind `scope_kind` (an expression): its team for a team
    scope, its value stream for a value-stream scope. -#}
{% macro flowmart_scope_name(scope_kind, item) -%}
    case when {{ scope_kind }} = 'team' then {{ item }}.team else {{ item }}.value_stream end
{%- endmacro %}

{#- Join condition: the relations (aliases) `left` and `right` are about the same scope (kind and name),
    grain and period. -#}
{% macro flowmart_same_scope_period(left, right) -%}
    {{ left }}.scope_kind = {{ right }}.scope_kind
        and {{ left }}.scope_name = {{ right }}.scope_name
        and {{ left }}.grain = {{ right }}.grain
        and {{ left }}.period_start = {{ right }}.period_start
{%- endmacro %}

{#- int_flow_metrics_aggregated: the work items where `flag` holds, once per scope (their team, their value
    stream) and grain, in the period of `day` (a date expression), with `columns`; in an incremental run only
    from the earliest period to write (most often the current quarter), as no period to write starts before
    it. Reads the model's CTEs work_items, scope_kinds, grains and keys_to_write. -#}
{% macro flowmart_items_by_scope_and_period(flag, day, columns) -%}
    select
        scope_kinds.scope_kind,
        {{ flowmart_scope_name('scope_kinds.scope_kind', 'work_items') }} as scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain', day) }} as period_start,
        {%- for column in columns %}
        work_items.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}

    from work_items
    cross join scope_kinds
    cross join grains

    where
        work_items.{{ flag }}
        {% if is_incremental() -%}
        and {{ day }} >= (select min(period_start) from keys_to_write)
        {%- endif %}
{%- endmacro %}
