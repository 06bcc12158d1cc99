{#- Work in progress at the end of each complete UTC day, per team: one row per day and team with items in
    progress (Flow Load), in total and by flow item type. An item is in progress from the day work started to
    the day before work ended, or to yesterday while it is open (today counts once it is over). Computed by
    interval arithmetic, not one row per item and day: each item adds 1 on its first day and takes it back the
    day after its last, and a running sum over a day spine gives each day's count (plain SQL on every
    database; a day without a row had no work in progress). -#}
{%- set flow_item_types = ['feature', 'defect', 'debt', 'risk'] -%}

with

last_complete_day as (

    select {{ flowmart_add_days('cast(' ~ flowmart_now() ~ ' as date)', -1) }} as snapshot_end

),

-- each team's item with its days in progress: the first and, capped at the last complete day, the last
item_ranges as (

    select
        work_items.team,
        work_items.value_stream,
        work_items.flow_item_type,
        work_items.wip_first_day,
        case
            when work_items.wip_last_day is null or work_items.wip_last_day > last_complete_day.snapshot_end
                then last_complete_day.snapshot_end
            else work_items.wip_last_day
        end as wip_last_day

    from {{ ref('int_work_items_measured') }} as work_items
    cross join last_complete_day
    where
        work_items.item_role in {{ flowmart_flow_item_roles() }}
        and work_items.team is not null
        and work_items.wip_first_day is not null

),

in_progress as (

    select * from item_ranges where wip_first_day <= wip_last_day

),

-- +1 on an item's first day in progress, -1 on the day after its last
changes as (

    select team, flow_item_type, wip_first_day as change_day, 1 as delta from in_progress

    union all

    select team, flow_item_type, {{ flowmart_add_days('wip_last_day', 1) }} as change_day, -1 as delta
    from in_progress

),

daily_changes as (

    select
        team,
        change_day,
        sum(delta) as flow_load_change,
        {% for t in flow_item_types -%}
        sum(case when flow_item_type = '{{ t }}' then delta else 0 end) as flow_load_change_{{ t }}
            {{- ',' if not loop.last }}
        {% endfor %}

    from changes
    group by team, change_day

),

-- each team once, with its value stream (a team belongs to one)
teams as (

    select team, max(value_stream) as value_stream from in_progress group by team

),

bounds as (

    select min(in_progress.wip_first_day) as spine_start, max(last_complete_day.snapshot_end) as spine_end
    from in_progress
    cross join last_complete_day

),

days as (

    {{ flowmart_day_spine('bounds') }}

),

daily_load as (

    select
        days.spine_day as snapshot_date,
        teams.team,
        teams.value_stream,
        {% for t in [''] + flow_item_types -%}
        {%- set suffix = '_' ~ t if t else '' %}
        sum(coalesce(daily_changes.flow_load_change{{ suffix }}, 0)) over (
            partition by teams.team order by days.spine_day rows between unbounded preceding and current row
        ) as flow_load{{ suffix }}{{ ',' if not loop.last }}
        {% endfor %}

    from teams
    cross join days
    left join daily_changes
        on teams.team = daily_changes.team
        and days.spine_day = daily_changes.change_day

)

select
    cast(snapshot_date as date) as snapshot_date,
    team,
    value_stream,
    {% for t in [''] + flow_item_types -%}
    {%- set suffix = '_' ~ t if t else '' %}
    cast(flow_load{{ suffix }} as bigint) as flow_load{{ suffix }}{{ ',' if not loop.last }}
    {% endfor %}

from daily_load
where flow_load > 0
