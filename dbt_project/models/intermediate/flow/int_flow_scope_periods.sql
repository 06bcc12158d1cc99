{#- The reporting periods of every scope: each team and each value stream of the org config, by week, month
    and quarter, from the week / month / quarter of the first work item's creation to the current one. -#}
with

work_items as (

    select created_at from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }} and team is not null

),

scopes as (

    select 'team' as scope_kind, team as scope_name, team, value_stream
    from {{ ref('stg_org__teams') }}

    union all

    select 'value_stream' as scope_kind, value_stream as scope_name, cast(null as {{ dbt.type_string() }}) as team,
        value_stream
    from {{ ref('stg_org__value_streams') }}

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
    cross join ({{ flowmart_grains() }}) as grains
    cross join bounds

    group by 1, 2

)

select
    cast(scopes.scope_kind as {{ flowmart_string() }}) as scope_kind,
    scopes.scope_name,
    scopes.team,
    scopes.value_stream,
    cast(periods.grain as {{ flowmart_string() }}) as grain,
    periods.period_start,
    {{ flowmart_period_end('periods.grain', 'periods.period_start') }} as period_end,
    {{ flowmart_period_end('periods.grain', 'periods.period_start') }} < cast({{ flowmart_now() }} as date)
        as is_period_complete,
    cast(periods.snapshot_days as integer) as snapshot_days,
    periods.last_snapshot_day

from scopes
cross join periods
