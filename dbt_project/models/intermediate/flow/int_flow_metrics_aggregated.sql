{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['scope_kind', 'scope_name', 'grain', 'period_start'],
        indexes=flowmart_postgres_indexes([['scope_kind', 'scope_name', 'grain', 'period_start'], ['last_item_updated_at']]),
        on_schema_change='fail',
        meta={'flowmart_superseded_watermark': 'last_item_updated_at'},
        post_hook=["{{ flowmart_delete_periods_before_first_item(this) }}"],
    )
}}

{#- Flow Framework metrics per scope (each team, each value stream) and period (week, month, quarter),
    one row for every scope and every period from the first item's creation to now, with or without
    completions. A period holds the items completed (or canceled) in it; load comes from the daily WIP
    snapshot. The marts flow_metrics_by_team and flow_metrics_by_value_stream read it.

    Incremental: a run rewrites only the rows whose figures can have moved, and reads only the days and
    completions from the earliest period it rewrites:
    - every scope's rows of the periods whose days or completeness moved with the clock (the current
      periods, and the periods that just ended), and the rows not stored yet;
    - the periods where a work item updated since the last run (minus flow_lookback_days) was completed
      or canceled, for its team and its value stream;
    - from the states the run's work items superseded (int_work_items_superseded: updated, new or removed
      items): the periods where the superseded state was completed or canceled (an item that left the
      period or the team), and the periods holding the days whose work in progress moved (between the two
      states' ends, or every day of each state when the work start, team or type changed), for the team
      and its value stream.
    A post-hook drops periods that end before the first item's creation. -#}
{#- the superseded states, read in incremental runs (a dependency, no SQL here) -#}
{%- do ref('int_work_items_superseded') %}
{%- set flow_item_types = ['feature', 'defect', 'debt', 'risk'] -%}

with

-- read in parts (each with its own filter), not materialized whole
work_items as not materialized (

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

{% if is_incremental() -%}
{%- set watermark = flowmart_superseded_watermark(this, 'last_item_updated_at') %}
-- what an incremental run rewrites (see the header): the clock's periods, the absent rows, and what moved
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

-- the states of work items superseded since the last run (int_work_items_superseded: updated since, new,
-- removed); with the items' current state they give the periods an item left and the work in progress
-- that moved, so the stored rows need not be compared with a recount
superseded as (

    select * from {{ ref('int_work_items_superseded') }}
    where superseded_at > ({{ watermark }})

),

-- the completions and cancelations that moved since the last run: those of the items updated since (read
-- from the work items, so the expanded `completed` rows are read once, by completion_stats), and those of
-- the states they superseded
moved_ends as (

    select team, value_stream, is_completed, completed_at, canceled_at
    from work_items
    where (is_completed or is_canceled) and item_updated_at > ({{ watermark }})

    union all

    select team, value_stream, is_completed, completed_at, canceled_at
    from superseded
    where (is_completed or is_canceled) and team is not null

),

-- their periods, for their team and their value stream
moved_end_keys as (

    select
        scope_kinds.scope_kind,
        {{ flowmart_scope_name('scope_kinds.scope_kind', 'moved_ends') }} as scope_name,
        grains.grain,
        {{ flowmart_period_start('grains.grain',
            'cast(case when moved_ends.is_completed then moved_ends.completed_at else moved_ends.canceled_at end as date)') }}
            as period_start

    from moved_ends
    cross join scope_kinds
    cross join grains

),

-- each superseded state beside the item's current one (none for a removed item); an open end (in progress)
-- counts to the clock's day
wip_states as (

    select
        superseded.team as old_team,
        superseded.value_stream as old_value_stream,
        superseded.wip_first_day as old_first_day,
        coalesce(superseded.wip_last_day, bounds.spine_end) as old_last_day,
        current_items.team as new_team,
        current_items.value_stream as new_value_stream,
        current_items.wip_first_day as new_first_day,
        coalesce(current_items.wip_last_day, bounds.spine_end) as new_last_day,
        -- same work start, team and type: only the days between the two ends moved
        coalesce(
            superseded.wip_first_day = current_items.wip_first_day
            and superseded.team = current_items.team
            and superseded.value_stream = current_items.value_stream
            and superseded.flow_item_type = current_items.flow_item_type,
            false
        ) as only_the_end_moved

    from superseded
    cross join bounds
    left join {{ ref('int_work_items_measured') }} as current_items
        on superseded.issue_id = current_items.issue_id

),

-- the days whose work in progress moved, by team: between the two ends, or else every day of each state
wip_moves as (

    select new_team as team, new_value_stream as value_stream,
        {{ flowmart_add_days('least(old_last_day, new_last_day)', 1) }} as first_day,
        greatest(old_last_day, new_last_day) as last_day
    from wip_states
    where only_the_end_moved and old_last_day <> new_last_day

    union all

    select old_team, old_value_stream, old_first_day, old_last_day
    from wip_states
    where not only_the_end_moved and old_first_day is not null and old_team is not null

    union all

    select new_team, new_value_stream, new_first_day, new_last_day
    from wip_states
    where not only_the_end_moved and new_first_day is not null and new_team is not null

),

-- the periods holding those days, for the team and its value stream
wip_move_keys as (

    select distinct
        scope_kinds.scope_kind,
        {{ flowmart_scope_name('scope_kinds.scope_kind', 'wip_moves') }} as scope_name,
        periods.grain,
        periods.period_start

    from wip_moves
    inner join periods
        on periods.period_start <= wip_moves.last_day
        and {{ flowmart_period_end('periods.grain', 'periods.period_start') }} >= wip_moves.first_day
    cross join scope_kinds

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
    from moved_end_keys

    union

    select scope_kind, scope_name, grain, period_start
    from wip_move_keys

),

{% endif -%}
canceled as (

    {{ flowmart_items_by_scope_and_period('is_canceled', 'cast(work_items.canceled_at as date)', ['item_updated_at']) }}

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
    {% if is_incremental() -%}
    -- no period to write starts before the earliest of them (most often the current quarter)
    where wip_days.snapshot_date >= (select min(period_start) from keys_to_write)
    {% endif -%}
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

-- canceled items and load per scope and period (in an incremental run, of the periods from the earliest to write)
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

completed as (

    {{ flowmart_items_by_scope_and_period('is_completed', 'cast(work_items.completed_at as date)',
        ['flow_item_type', 'is_started', 'flow_time_hours', 'active_time_hours', 'lead_time_hours', 'item_updated_at']) }}

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
