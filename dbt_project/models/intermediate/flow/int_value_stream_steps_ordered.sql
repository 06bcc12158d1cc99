{#- The steps of each value stream's map, in order: as configured (value_streams[].steps), else inferred from
    the status history: the active and waiting statuses the stream's items enter, ordered by the median
    position at which an item first enters them (ties: precedence within the tied statuses, then the mean
    position, then the name). -#}
with

configured_steps as (

    select * from {{ ref('stg_org__value_stream_steps') }}

),

-- the status catalogue: the tracker's statuses and every status seen in the history (matched without case)
known_statuses as (

    select distinct lower(status_name) as step_key from {{ ref('stg_jira__statuses') }}
    union
    select distinct lower(status_name) as step_key from {{ ref('int_statuses_mapped') }}

),

flow_items as (

    select issue_id, value_stream from {{ ref('int_work_items_measured') }}
    where item_role in {{ flowmart_flow_item_roles() }} and value_stream is not null and not is_canceled

),

-- each item's first entry into each active or waiting status
first_entries as (

    select
        flow_items.value_stream,
        status_periods.issue_id,
        lower(status_periods.status_name) as step_key,
        max(status_periods.status_name) as status_name,
        min(status_periods.period_index) as first_period_index

    from {{ ref('int_status_periods_classified') }} as status_periods
    inner join flow_items
        on status_periods.issue_id = flow_items.issue_id

    where status_periods.flow_state in ('active', 'waiting')
    group by 1, 2, 3

),

entry_positions as (

    select
        first_entries.*,
        row_number() over (
            partition by first_entries.issue_id order by first_entries.first_period_index
        ) as first_entry_position

    from first_entries

),

entry_statistics as (

    select
        value_stream,
        step_key,
        max(status_name) as status_name,
        count(*) as items_entered,
        {{ flowmart_percentile('first_entry_position', 0.5) }} as first_entry_position_p50,
        avg(1.0 * first_entry_position) as first_entry_position_mean

    from entry_positions
    group by 1, 2

),

-- a tie on the median (optional statuses make them common: an item that skips QA enters Ready for Release
-- earlier) is broken by precedence: among the items that entered both statuses of a tied pair, which one
-- most of them entered first; a status wins a pair when it came first more often
pair_precedence as (

    select
        earlier.value_stream,
        earlier.step_key,
        later.step_key as other_step_key,
        sum(case when earlier.first_period_index < later.first_period_index then 1 else 0 end) as entered_first,
        sum(case when earlier.first_period_index > later.first_period_index then 1 else 0 end) as entered_second

    from entry_positions as earlier
    inner join entry_positions as later
        on earlier.issue_id = later.issue_id
        and earlier.step_key <> later.step_key
    inner join entry_statistics as earlier_statistics
        on earlier.value_stream = earlier_statistics.value_stream
        and earlier.step_key = earlier_statistics.step_key
    inner join entry_statistics as later_statistics
        on later.value_stream = later_statistics.value_stream
        and later.step_key = later_statistics.step_key

    where earlier_statistics.first_entry_position_p50 = later_statistics.first_entry_position_p50
    group by 1, 2, 3

),

tie_wins as (

    select
        value_stream,
        step_key,
        sum(case when entered_first > entered_second then 1 else 0 end) as pairs_won

    from pair_precedence
    group by 1, 2

),

configured as (

    select
        configured_steps.value_stream,
        configured_steps.step_order as step_position,
        configured_steps.status_name as step_status,
        lower(configured_steps.status_name) as step_key,
        'configured' as order_source

    from configured_steps

),

inferred as (

    select
        entry_statistics.value_stream,
        row_number() over (
            partition by entry_statistics.value_stream
            order by
                entry_statistics.first_entry_position_p50,
                coalesce(tie_wins.pairs_won, 0) desc,
                entry_statistics.first_entry_position_mean,
                entry_statistics.status_name
        ) as step_position,
        entry_statistics.status_name as step_status,
        entry_statistics.step_key,
        'inferred' as order_source

    from entry_statistics
    left join tie_wins
        on entry_statistics.value_stream = tie_wins.value_stream
        and entry_statistics.step_key = tie_wins.step_key

    where entry_statistics.value_stream not in (select configured.value_stream from configured)

),

steps as (

    select * from configured
    union all
    select * from inferred

)

select
    cast(steps.value_stream as {{ flowmart_string() }}) as value_stream,
    cast(steps.step_position as integer) as step_position,
    cast(steps.step_status as {{ flowmart_string() }}) as step_status,
    cast(steps.step_key as {{ flowmart_string() }}) as step_key,
    cast(steps.order_source as {{ flowmart_string() }}) as order_source,
    steps.order_source = 'configured' as is_order_configured,
    cast(coalesce(entry_statistics.items_entered, 0) as integer) as items_entered,
    cast(entry_statistics.first_entry_position_p50 as {{ flowmart_double() }}) as first_entry_position_p50,
    known_statuses.step_key is not null as is_known_status,
    -- the validation error of a configured step that names no status of the tracker
    cast(case when known_statuses.step_key is null then
        'value_streams[' || steps.value_stream || '].steps names the status ''' || steps.step_status
        || ''', which the tracker does not have'
    end as {{ flowmart_string() }}) as validation_error

from steps
left join entry_statistics
    on steps.value_stream = entry_statistics.value_stream
    and steps.step_key = entry_statistics.step_key
left join known_statuses
    on steps.step_key = known_statuses.step_key
