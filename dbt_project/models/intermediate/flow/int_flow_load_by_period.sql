{#- Flow Load per scope (each team, each value stream) and period (week, month, quarter), from the daily WIP
    snapshot (per team and day): the average number of items in progress at the end of the period's complete
    days, and the number at the end of its last complete day; in total and by flow item type. One row per scope period;
    a day without a snapshot row had no work in progress, and a period without a complete day yet has no
    load (null). -#}
{%- set flow_item_types = ['feature', 'defect', 'debt', 'risk'] -%}

with

scope_periods as (

    select * from {{ ref('int_flow_scope_periods') }}

),

-- work in progress per team and day (the snapshot's grain), then per value stream
team_daily_load as (

    select
        team,
        value_stream,
        snapshot_date,
        flow_load,
        {% for t in flow_item_types -%}
        flow_load_{{ t }}{{ ',' if not loop.last }}
        {% endfor %}

    from {{ ref('int_daily_wip_snapshotted') }}

),

daily_load as (

    select 'team' as scope_kind, team as scope_name, snapshot_date, flow_load,
        {% for t in flow_item_types -%}
        flow_load_{{ t }}{{ ',' if not loop.last }}
        {% endfor %}
    from team_daily_load

    union all

    select 'value_stream' as scope_kind, value_stream as scope_name, snapshot_date, sum(flow_load),
        {% for t in flow_item_types -%}
        sum(flow_load_{{ t }}){{ ',' if not loop.last }}
        {% endfor %}
    from team_daily_load
    group by value_stream, snapshot_date

),

load_sums as (

    select
        daily_load.scope_kind,
        daily_load.scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'daily_load.snapshot_date') }} as period_start,
        sum(daily_load.flow_load) as flow_load,
        {% for t in flow_item_types -%}
        sum(daily_load.flow_load_{{ t }}) as flow_load_{{ t }}{{ ',' if not loop.last }}
        {% endfor %}

    from daily_load
    cross join ({{ flowmart_grains() }}) as grains

    group by 1, 2, 3, 4

)

select
    scope_periods.scope_kind,
    scope_periods.scope_name,
    scope_periods.grain,
    scope_periods.period_start,
    {% for t in [''] + flow_item_types -%}
    {%- set suffix = '_' ~ t if t else '' %}
    cast(case when scope_periods.snapshot_days > 0 then
        1.0 * coalesce(load_sums.flow_load{{ suffix }}, 0) / scope_periods.snapshot_days end as {{ flowmart_double() }})
        as flow_load_avg{{ suffix }},
    cast(case when scope_periods.snapshot_days > 0 then coalesce(end_load.flow_load{{ suffix }}, 0) end as integer)
        as flow_load_end{{ suffix }}{{ ',' if not loop.last }}
    {% endfor %}

from scope_periods
left join load_sums
    on scope_periods.scope_kind = load_sums.scope_kind
    and scope_periods.scope_name = load_sums.scope_name
    and scope_periods.grain = load_sums.grain
    and scope_periods.period_start = load_sums.period_start
left join daily_load as end_load
    on scope_periods.scope_kind = end_load.scope_kind
    and scope_periods.scope_name = end_load.scope_name
    and scope_periods.last_snapshot_day = end_load.snapshot_date
