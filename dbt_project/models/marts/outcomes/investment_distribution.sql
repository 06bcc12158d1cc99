{#- Where the effort goes (docs block investment_distribution): per month / quarter and scope (the whole
    organisation, each value stream, each team), the work items completed in the period and their active
    time by objective (the objective of the key result the work serves, or 'unaligned'), by flow item type
    and, for the organisation, by value stream; each category's share of the scope's active time, and the
    team cost allocated to it by active time where team costs are configured. Only categories with
    completed work have a row. -#}
with

items as (

    select * from {{ ref('int_work_items_aligned') }}

),

periods as (

    select distinct grain, period_start, period_end, is_period_complete
    from {{ ref('int_flow_scope_periods') }}
    where grain in ('month', 'quarter')

),

organisation as (

    select coalesce(max(case when setting = 'organisation' then setting_value end), 'organisation')
        as organisation
    from {{ ref('stg_org__settings') }}

),

objectives as (

    select * from {{ ref('stg_org__objectives') }}

),

-- each item once per scope it belongs to
scoped as (

    select 'organisation' as scope_kind, organisation.organisation as scope_name, items.*
    from items
    cross join organisation

    union all

    select 'value_stream' as scope_kind, items.value_stream as scope_name, items.*
    from items

    union all

    select 'team' as scope_kind, items.team as scope_name, items.*
    from items

),

-- and once per dimension of the distribution
categorised as (

    select scoped.*, 'objective' as dimension, coalesce(scoped.objective_id, 'unaligned') as category
    from scoped

    union all

    select scoped.*, 'flow_item_type' as dimension, scoped.flow_item_type as category
    from scoped

    union all

    select scoped.*, 'value_stream' as dimension, scoped.value_stream as category
    from scoped
    where scoped.scope_kind = 'organisation'

),

aggregated as (

    select
        categorised.scope_kind,
        categorised.scope_name,
        periods.grain,
        periods.period_start,
        periods.period_end,
        periods.is_period_complete,
        categorised.dimension,
        categorised.category,
        count(*) as items_completed,
        sum(categorised.active_time_days) as active_time_days,
        sum(categorised.allocated_cost) as allocated_cost

    from categorised
    inner join periods
        on cast(categorised.completed_at as date) between periods.period_start and periods.period_end

    group by 1, 2, 3, 4, 5, 6, 7, 8

)

select
    cast(aggregated.scope_kind as {{ flowmart_string() }}) as scope_kind,
    cast(aggregated.scope_name as {{ flowmart_string() }}) as scope_name,
    cast(aggregated.grain as {{ flowmart_string() }}) as grain,
    cast(aggregated.period_start as date) as period_start,
    cast(aggregated.period_end as date) as period_end,
    cast(aggregated.is_period_complete as boolean) as is_period_complete,
    cast(aggregated.dimension as {{ flowmart_string() }}) as dimension,
    cast(aggregated.category as {{ flowmart_string() }}) as category,
    cast(objectives.objective_title as {{ flowmart_string() }}) as objective_title,
    cast(aggregated.items_completed as integer) as items_completed,
    cast(aggregated.active_time_days as {{ flowmart_double() }}) as active_time_days,
    cast(
        100.0 * aggregated.active_time_days / nullif(sum(aggregated.active_time_days) over (
            partition by aggregated.scope_kind, aggregated.scope_name, aggregated.grain, aggregated.period_start,
            aggregated.dimension
        ), 0)
        as {{ flowmart_double() }}
    ) as active_time_share_pct,
    cast(aggregated.allocated_cost as {{ flowmart_double() }}) as allocated_cost

from aggregated
left join objectives
    on aggregated.dimension = 'objective'
    and aggregated.category = objectives.objective_id
