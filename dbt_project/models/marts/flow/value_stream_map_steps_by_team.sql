{#- The value stream map's steps per team, month and quarter (int_value_stream_map_steps_by_period): one row
    for every step of the value stream and every period, with or without items. -#}
select
    value_stream,
    team,
    grain,
    period_start,
    period_end,
    is_period_complete,
    step_position,
    step_status,
    order_source,
    items_through,
    time_in_step_p50_days,
    time_in_step_p85_days,
    active_time_p50_days,
    active_time_p85_days,
    waiting_time_p50_days,
    waiting_time_p85_days,
    active_days,
    waiting_days,
    waiting_share_pct,
    is_bottleneck,
    items_left_forward,
    items_complete_and_accurate,
    complete_and_accurate_pct,
    rework_count,
    top_backward_transitions

from {{ ref('int_value_stream_map_steps_by_period') }}
where scope_kind = 'team'
