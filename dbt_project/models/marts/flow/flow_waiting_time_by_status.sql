{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['team', 'grain', 'period_start'],
        indexes=flowmart_postgres_indexes([['team', 'grain', 'period_start'], ['last_item_updated_at']]),
        on_schema_change='fail',
        meta={'flowmart_superseded_watermark': 'last_item_updated_at'},
        pre_hook=["{{ flowmart_delete_team_periods_to_rewrite(this) }}"],
    )
}}

{#- Where work waits (the bottleneck view): per team, period (week / month / quarter) and status, the time
    the items completed in the period spent in that status while it counted as waiting — between work
    start and work end, in any state but active (waiting statuses, and also backlog or done when the
    item went back or was reopened). Rolled up from int_flow_waits_daily (incremental), so a run reads
    day rows instead of joining every completed item with its status periods.

    Incremental: a run rewrites the team periods whose days changed (flowmart_team_periods_to_rewrite):
    those holding a day whose completed items were updated since the last run, and those holding a day an
    item left (int_work_items_superseded: reopened, canceled, deleted, moved), new periods among them. A
    pre-hook deletes their stored rows first, so a period whose items no longer waited anywhere, or that has
    no completed item left, loses its rows too. -#}
{#- the superseded states, read in incremental runs (a dependency, no SQL here) -#}
{%- do ref('int_work_items_superseded') %}
with

daily as (

    select * from {{ ref('int_flow_waits_daily') }}

),

grains as (

    {{ flowmart_grains() }}

),

{% if is_incremental() -%}
rewritten as (

    {{ flowmart_team_periods_to_rewrite(this) }}

),

{% endif -%}
-- the day rows by period: a null status_name holds the day's totals, the others the waits per status
daily_by_grain as (

    select
        daily.*,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'daily.completed_date') }} as period_start

    from daily
    cross join grains

),

daily_rows as (

    select daily_by_grain.*
    from daily_by_grain
    {% if is_incremental() -%}
    inner join rewritten
        on daily_by_grain.team = rewritten.team
        and daily_by_grain.grain = rewritten.grain
        and daily_by_grain.period_start = rewritten.period_start
    {%- endif %}

),

team_totals as (

    select
        team,
        grain,
        period_start,
        sum(items_completed) as items_completed,
        sum(flow_time_hours) as flow_time_hours,
        sum(wait_hours) as wait_time_hours,
        max(completions_updated_through) as last_item_updated_at

    from daily_rows
    where status_name is null

    group by 1, 2, 3

),

daily_waits_by_grain as (

    select team, value_stream, completed_date, status_name, flow_state, items_waited, wait_hours, grain,
        period_start
    from daily_rows
    where status_name is not null

),

by_status as (

    select
        daily_waits.team,
        daily_waits.value_stream,
        daily_waits.grain,
        daily_waits.period_start,
        daily_waits.status_name,
        min(daily_waits.flow_state) as flow_state,
        sum(daily_waits.items_waited) as items_waited,
        sum(daily_waits.wait_hours) as wait_hours

    from daily_waits_by_grain as daily_waits

    group by 1, 2, 3, 4, 5

)

-- string columns cast to the contract's type: PostgreSQL gives text, and an incremental run compares types
select
    cast(by_status.team as varchar) as team,
    cast(by_status.value_stream as varchar) as value_stream,
    cast(by_status.grain as varchar) as grain,
    by_status.period_start,
    {{ flowmart_period_end('by_status.grain', 'by_status.period_start') }} as period_end,
    cast(by_status.status_name as varchar) as status_name,
    cast(by_status.flow_state as varchar) as flow_state,
    cast(by_status.items_waited as integer) as items_waited,
    cast(team_totals.items_completed as integer) as items_completed,
    cast(by_status.wait_hours as double precision) as wait_hours,
    cast(by_status.wait_hours / by_status.items_waited as double precision) as wait_hours_per_item_waited,
    cast(100.0 * by_status.wait_hours / nullif(team_totals.flow_time_hours, 0) as double precision)
        as share_of_flow_time_pct,
    cast(100.0 * by_status.wait_hours / nullif(team_totals.wait_time_hours, 0) as double precision)
        as share_of_wait_time_pct,
    cast(row_number() over (
        partition by by_status.team, by_status.grain, by_status.period_start
        order by by_status.wait_hours desc, by_status.status_name
    ) as integer) as wait_rank,
    team_totals.last_item_updated_at

from by_status
inner join team_totals
    on by_status.team = team_totals.team
    and by_status.grain = team_totals.grain
    and by_status.period_start = team_totals.period_start
