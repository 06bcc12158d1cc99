{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['scope_kind', 'scope_name', 'grain', 'period_start'],
        on_schema_change='fail',
        post_hook=["{{ flowmart_delete_periods_before_first_item(this) }}"],
    )
}}

{#- Flow Framework metrics per scope (each team, each value stream) and period (week, month, quarter),
    one row for every scope and every period from the first item's creation to now, with or without
    completions. A period holds the items completed (or canceled) in it; load comes from the daily WIP
    snapshot. The marts flow_metrics_by_team and flow_metrics_by_value_stream read it.

    Incremental: the percentiles over the completed items are the cost of this model, so a run rewrites
    only the rows whose figures can have moved:
    - every scope's rows of the periods whose days or completeness moved with the clock (the current
      periods, and the periods that just ended), and the rows not stored yet;
    - the periods where a work item updated since the last run (minus flow_lookback_days) was completed
      or canceled, for its team and its value stream;
    - the team periods whose counts of completed or canceled items, or whose load (summed over the
      period's days and at its last day, by type), differ from the stored row: an item that left the
      period or the team, or work-in-progress days that moved; and the same periods of the team's
      value stream.
    Counts and load are cheap to recompute for every period, so they are compared rather than inferred. A
    post-hook drops periods that end before the first item's creation. -#}
{%- set flow_item_types = ['feature', 'defect', 'debt', 'risk'] -%}

with

work_items as (

    select
        team,
        value_stream,
        flow_item_type,
        created_at,
        completed_at,
        canceled_at,
        is_completed,
        is_canceled,
        is_started,
        flow_time_hours,
        active_time_hours,
        lead_time_hours,
        item_updated_at

    from {{ ref('int_work_items_measured') }}
    where team is not null

),

wip_days as (

    select * from {{ ref('int_daily_wip_snapshotted') }}
    where team is not null

),

teams as (

    select * from {{ ref('stg_org__teams') }}

),

value_streams as (

    select * from {{ ref('stg_org__value_streams') }}

),

grains as (

    {{ flowmart_grains() }}

),

scope_kinds as (

    select 'team' as scope_kind
    union all
    select 'value_stream' as scope_kind

),

scopes as (

    select
        'team' as scope_kind,
        team as scope_name,
        team,
        value_stream

    from teams

    union all

    select
        'value_stream' as scope_kind,
        value_stream as scope_name,
        cast(null as {{ dbt.type_string() }}) as team,
        value_stream

    from value_streams

),

bounds as (

    select
        min(cast(created_at as date)) as spine_start,
        cast({{ flowmart_now() }} as date) as spine_end

    from work_items

),

days as (

    {{ flowmart_day_spine('bounds') }}

),

-- every period of each grain with its complete days (the current day is not snapshotted yet)
periods as (

    select
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'days.spine_day') }} as period_start,
        sum(case when days.spine_day < bounds.spine_end then 1 else 0 end) as snapshot_days,
        max(case when days.spine_day < bounds.spine_end then days.spine_day end) as last_snapshot_day

    from days
    cross join grains
    cross join bounds

    group by 1, 2

),

canceled as (

    select
        scope_kinds.scope_kind,
        {{ flowmart_scope_name('scope_kinds.scope_kind', 'work_items') }} as scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'cast(work_items.canceled_at as date)') }} as period_start,
        work_items.item_updated_at

    from work_items
    cross join scope_kinds
    cross join grains

    where work_items.is_canceled

),

canceled_stats as (

    select scope_kind, scope_name, grain, period_start, count(*) as items_canceled,
        max(item_updated_at) as last_item_updated_at
    from canceled
    group by 1, 2, 3, 4

),

-- WIP per team and day first (one pass over the snapshot), then per scope
team_daily_load as (

    select
        wip_days.team,
        wip_days.value_stream,
        wip_days.snapshot_date,
        count(*) as flow_load,
        {% for t in flow_item_types -%}
        sum(case when wip_days.flow_item_type = '{{ t }}' then 1 else 0 end) as flow_load_{{ t }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from wip_days
    group by 1, 2, 3

),

daily_load as (

    select
        'team' as scope_kind,
        team as scope_name,
        snapshot_date,
        flow_load,
        {% for t in flow_item_types -%}
        flow_load_{{ t }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from team_daily_load

    union all

    select
        'value_stream' as scope_kind,
        value_stream as scope_name,
        snapshot_date,
        sum(flow_load) as flow_load,
        {% for t in flow_item_types -%}
        sum(flow_load_{{ t }}) as flow_load_{{ t }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from team_daily_load

    group by value_stream, snapshot_date

),

-- summed over the period's days: a day without a snapshot row had no work in progress
load_sums as (

    select
        daily_load.scope_kind,
        daily_load.scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'daily_load.snapshot_date') }} as period_start,
        sum(daily_load.flow_load) as flow_load_sum,
        {% for t in flow_item_types -%}
        sum(daily_load.flow_load_{{ t }}) as flow_load_sum_{{ t }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from daily_load
    cross join grains

    group by 1, 2, 3, 4

),

period_scopes as (

    select
        scopes.scope_kind,
        scopes.scope_name,
        scopes.team,
        scopes.value_stream,
        periods.grain,
        periods.period_start,
        {{ flowmart_period_end('periods.grain', 'periods.period_start') }} as period_end,
        periods.snapshot_days,
        periods.last_snapshot_day

    from scopes
    cross join periods

),

-- the figures that are cheap for every scope and period: canceled items and load
period_figures as (

    select
        period_scopes.*,
        coalesce(canceled_stats.items_canceled, 0) as items_canceled,
        canceled_stats.last_item_updated_at as canceled_updated_at,
        coalesce(load_sums.flow_load_sum, 0) as flow_load_sum,
        {% for t in flow_item_types -%}
        coalesce(load_sums.flow_load_sum_{{ t }}, 0) as flow_load_sum_{{ t }},
        {% endfor -%}
        coalesce(end_load.flow_load, 0) as flow_load_end,
        {% for t in flow_item_types -%}
        coalesce(end_load.flow_load_{{ t }}, 0) as flow_load_end_{{ t }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from period_scopes
    left join canceled_stats
        on {{ flowmart_same_scope_period('period_scopes', 'canceled_stats') }}
    left join load_sums
        on {{ flowmart_same_scope_period('period_scopes', 'load_sums') }}
    left join daily_load as end_load
        on period_scopes.scope_kind = end_load.scope_kind
        and period_scopes.scope_name = end_load.scope_name
        and period_scopes.last_snapshot_day = end_load.snapshot_date

),

{% if is_incremental() -%}
-- change detection (see the header): what is stored, against what is cheap to recompute
stored as (

    select * from {{ this }}

),

stored_periods as (

    select distinct grain, period_start, snapshot_days, is_period_complete
    from stored

),

-- periods whose days or completeness moved with the clock (the current ones, those that just ended)
clock_periods as (

    select periods.grain, periods.period_start
    from periods
    cross join bounds
    inner join stored_periods
        on periods.grain = stored_periods.grain
        and periods.period_start = stored_periods.period_start
    where
        stored_periods.snapshot_days <> periods.snapshot_days
        or stored_periods.is_period_complete
            <> ({{ flowmart_period_end('periods.grain', 'periods.period_start') }} < bounds.spine_end)

),

-- rows not stored yet (a new period)
absent_keys as (

    select period_scopes.scope_kind, period_scopes.scope_name, period_scopes.grain, period_scopes.period_start
    from period_scopes
    left join stored
        on {{ flowmart_same_scope_period('period_scopes', 'stored') }}
    where stored.scope_kind is null

),

-- the periods of the items updated since the last run, for their team and their value stream (read from
-- the work items, so the expanded `completed` rows are read once, by completion_stats)
changed_item_keys as (

    select
        scope_kinds.scope_kind,
        {{ flowmart_scope_name('scope_kinds.scope_kind', 'work_items') }} as scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain',
            'cast(case when work_items.is_completed then work_items.completed_at else work_items.canceled_at end as date)') }}
            as period_start

    from work_items
    cross join scope_kinds
    cross join grains

    where
        (work_items.is_completed or work_items.is_canceled)
        and work_items.item_updated_at > ({{ flowmart_last_run_watermark(this, 'last_item_updated_at') }})

),

team_completion_counts as (

    select
        work_items.team,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'cast(work_items.completed_at as date)') }} as period_start,
        count(*) as items_completed

    from work_items
    cross join grains

    where work_items.is_completed

    group by 1, 2, 3

),

-- team periods whose counts or load differ from the stored row (an item left the period or the team,
-- work-in-progress days moved); the average load is compared as the sum it was divided from
moved_team_periods as (

    select figures.team, figures.value_stream, figures.grain, figures.period_start
    from period_figures as figures
    inner join stored
        on {{ flowmart_same_scope_period('figures', 'stored') }}
    left join team_completion_counts
        on figures.team = team_completion_counts.team
        and figures.grain = team_completion_counts.grain
        and figures.period_start = team_completion_counts.period_start

    where
        figures.scope_kind = 'team'
        and (
            stored.items_completed <> coalesce(team_completion_counts.items_completed, 0)
            or stored.items_canceled <> figures.items_canceled
            or coalesce(round(stored.flow_load_avg * stored.snapshot_days), 0) <> figures.flow_load_sum
            {% for t in flow_item_types -%}
            or coalesce(round(stored.flow_load_avg_{{ t }} * stored.snapshot_days), 0)
                <> figures.flow_load_sum_{{ t }}
            {% endfor -%}
            or coalesce(stored.flow_load_end, 0) <> figures.flow_load_end
            {% for t in flow_item_types -%}
            or coalesce(stored.flow_load_end_{{ t }}, 0) <> figures.flow_load_end_{{ t }}
            {% endfor %}
        )

),

keys_to_write as (

    select scopes.scope_kind, scopes.scope_name, clock_periods.grain, clock_periods.period_start
    from scopes
    cross join clock_periods

    union

    select scope_kind, scope_name, grain, period_start
    from absent_keys

    union

    select scope_kind, scope_name, grain, period_start
    from changed_item_keys

    union

    select 'team' as scope_kind, team as scope_name, grain, period_start
    from moved_team_periods

    union

    select 'value_stream' as scope_kind, value_stream as scope_name, grain, period_start
    from moved_team_periods

),

{% endif -%}
completed as (

    select
        scope_kinds.scope_kind,
        {{ flowmart_scope_name('scope_kinds.scope_kind', 'work_items') }} as scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'cast(work_items.completed_at as date)') }} as period_start,
        work_items.flow_item_type,
        work_items.is_started,
        work_items.flow_time_hours,
        work_items.active_time_hours,
        work_items.lead_time_hours,
        work_items.item_updated_at

    from work_items
    cross join scope_kinds
    cross join grains

    where
        work_items.is_completed
        {% if is_incremental() -%}
        -- no period to write starts before the earliest of them (most often the current quarter)
        and cast(work_items.completed_at as date) >= (select min(period_start) from keys_to_write)
        {%- endif %}

),

completion_stats as (

    select
        completed.scope_kind,
        completed.scope_name,
        completed.grain,
        completed.period_start,
        count(*) as items_completed,
        {% for t in flow_item_types -%}
        sum(case when flow_item_type = '{{ t }}' then 1 else 0 end) as items_completed_{{ t }},
        {% endfor -%}
        {{ flowmart_percentile('flow_time_hours', 0.5) }} as flow_time_p50_hours,
        {{ flowmart_percentile('flow_time_hours', 0.85) }} as flow_time_p85_hours,
        -- items never started are excluded from efficiency
        sum(case when is_started then active_time_hours end) as started_active_hours,
        sum(case when is_started then flow_time_hours end) as started_flow_hours,
        {{ flowmart_percentile('lead_time_hours', 0.5) }} as lead_time_p50_hours,
        max(item_updated_at) as last_item_updated_at

    from completed
    {% if is_incremental() -%}
    inner join keys_to_write
        on {{ flowmart_same_scope_period('completed', 'keys_to_write') }}
    {%- endif %}
    group by 1, 2, 3, 4

),


joined as (

    select
        figures.*,
        coalesce(completion_stats.items_completed, 0) as items_completed,
        {% for t in flow_item_types -%}
        coalesce(completion_stats.items_completed_{{ t }}, 0) as items_completed_{{ t }},
        {% endfor -%}
        completion_stats.flow_time_p50_hours,
        completion_stats.flow_time_p85_hours,
        completion_stats.started_active_hours,
        completion_stats.started_flow_hours,
        completion_stats.lead_time_p50_hours,
        case
            when figures.canceled_updated_at is null
                or completion_stats.last_item_updated_at > figures.canceled_updated_at
                then completion_stats.last_item_updated_at
            else figures.canceled_updated_at
        end as last_item_updated_at

    from period_figures as figures
    {% if is_incremental() -%}
    inner join keys_to_write
        on {{ flowmart_same_scope_period('figures', 'keys_to_write') }}
    {%- endif %}
    left join completion_stats
        on {{ flowmart_same_scope_period('figures', 'completion_stats') }}

)

select
    cast(scope_kind as varchar) as scope_kind,
    scope_name,
    team,
    value_stream,
    cast(grain as varchar) as grain,
    period_start,
    period_end,
    period_end < cast({{ flowmart_now() }} as date) as is_period_complete,
    cast(snapshot_days as integer) as snapshot_days,
    cast(items_completed as integer) as items_completed,
    {% for t in flow_item_types -%}
    cast(items_completed_{{ t }} as integer) as items_completed_{{ t }},
    {% endfor -%}
    cast(flow_time_p50_hours as double precision) as flow_time_p50_hours,
    cast(flow_time_p85_hours as double precision) as flow_time_p85_hours,
    cast(100.0 * started_active_hours / nullif(started_flow_hours, 0) as double precision) as flow_efficiency_pct,
    -- load: null for a period without any complete day yet
    cast(case when snapshot_days > 0 then 1.0 * flow_load_sum / snapshot_days end as double precision) as flow_load_avg,
    {% for t in flow_item_types -%}
    cast(case when snapshot_days > 0 then 1.0 * flow_load_sum_{{ t }} / snapshot_days end as double precision)
        as flow_load_avg_{{ t }},
    {% endfor -%}
    case when snapshot_days > 0 then cast(flow_load_end as integer) end as flow_load_end,
    {% for t in flow_item_types -%}
    case when snapshot_days > 0 then cast(flow_load_end_{{ t }} as integer) end as flow_load_end_{{ t }},
    {% endfor -%}
    {% for t in flow_item_types -%}
    cast(100.0 * items_completed_{{ t }} / nullif(items_completed, 0) as double precision)
        as completed_share_{{ t }}_pct,
    {% endfor -%}
    {% for t in flow_item_types -%}
    cast(100.0 * flow_load_end_{{ t }} / nullif(flow_load_end, 0) as double precision)
        as in_progress_share_{{ t }}_pct,
    {% endfor -%}
    cast(items_canceled as integer) as items_canceled,
    cast(lead_time_p50_hours as double precision) as lead_time_p50_hours,
    last_item_updated_at

from joined
