{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['team', 'completed_date'],
        indexes=flowmart_postgres_indexes([['team', 'completed_date'], ['completions_updated_through']]),
        on_schema_change='fail',
        meta={'flowmart_changed_columns': ['completions_updated_through', 'completed_date'],
              'flowmart_superseded_watermark': 'completions_updated_through'},
        pre_hook=["{{ flowmart_delete_days_items_left(this) }}"],
    )
}}

{#- Where work waited, per team and UTC day of completion: for the started items a team completed that day,
    one row per status they waited in (any non-active state between work start and work end: waiting
    statuses, and backlog or done when an item went back or was reopened) and one totals row with a null
    status_name (items completed, their flow and wait time). flow_waiting_time_by_status rolls the days up
    into weeks, months and quarters; an item completes on one day, so the days add up.

    Incremental: a run rewrites the days holding the completion of an item updated since the last run, and
    the days an item left (its superseded state, int_work_items_superseded: reopened, canceled, deleted,
    moved); a pre-hook deletes the latter first, so a day left without any completed item loses its rows. -#}
{#- the superseded states, read in incremental runs (a dependency, no SQL here) -#}
{%- do ref('int_work_items_superseded') %}
with

work_items as (

    select
        work_items.issue_id,
        work_items.team,
        teams.value_stream,
        work_items.work_started_at,
        work_items.work_ended_at,
        cast(work_items.completed_at as date) as completed_date,
        work_items.flow_time_hours,
        work_items.wait_time_hours,
        work_items.item_updated_at

    from {{ ref('int_work_items_measured') }} as work_items
    inner join {{ ref('stg_org__teams') }} as teams
        on work_items.team = teams.team

    where work_items.is_completed and work_items.is_started

),

{% if is_incremental() -%}
{%- set watermark = flowmart_superseded_watermark(this, 'completions_updated_through') %}
days_to_write as (

    select team, completed_date
    from work_items
    where item_updated_at > ({{ watermark }})

    union

    {{ flowmart_wait_days_left(watermark) }}

),
{%- endif %}

completed as (

    select work_items.*
    from work_items
    {% if is_incremental() -%}
    inner join days_to_write
        on work_items.team = days_to_write.team
        and work_items.completed_date = days_to_write.completed_date
    {%- endif %}

),

day_totals as (

    select
        team,
        min(value_stream) as value_stream,
        completed_date,
        cast(null as {{ dbt.type_string() }}) as status_name,
        cast(null as {{ dbt.type_string() }}) as flow_state,
        cast(null as integer) as items_waited,
        count(*) as items_completed,
        sum(flow_time_hours) as flow_time_hours,
        sum(wait_time_hours) as wait_hours,
        max(item_updated_at) as completions_updated_through

    from completed
    group by team, completed_date

),

status_waits as (

    select
        completed.team,
        min(completed.value_stream) as value_stream,
        completed.completed_date,
        status_periods.status_name,
        -- the state the status is mapped to: waiting, or backlog/done when the item went back or reopened
        min(status_periods.flow_state) as flow_state,
        count(distinct completed.issue_id) as items_waited,
        cast(null as integer) as items_completed,
        cast(null as double precision) as flow_time_hours,
        sum(status_periods.duration_hours) as wait_hours,
        max(completed.item_updated_at) as completions_updated_through

    from completed
    inner join {{ ref('int_status_periods_classified') }} as status_periods
        on completed.issue_id = status_periods.issue_id

    where
        status_periods.flow_state <> 'active'
        and status_periods.started_at >= completed.work_started_at
        and status_periods.started_at < completed.work_ended_at

    group by completed.team, completed.completed_date, status_periods.status_name

),

unioned as (

    select * from day_totals
    union all
    select * from status_waits

)

select
    team,
    value_stream,
    completed_date,
    status_name,
    cast(flow_state as varchar) as flow_state,
    cast(items_waited as integer) as items_waited,
    cast(items_completed as integer) as items_completed,
    cast(flow_time_hours as double precision) as flow_time_hours,
    cast(wait_hours as double precision) as wait_hours,
    completions_updated_through

from unioned
