{#- The value stream map's ladder totals per value_stream, month and quarter (int_value_stream_map_totals_by_period). -#}
select
    value_stream,
    grain,
    period_start,
    period_end,
    is_period_complete,
    order_source,
    steps,
    items_through_busiest_step,
    total_process_time_days,
    total_lead_time_days,
    activity_ratio_pct,
    rolled_complete_and_accurate_pct,
    steps_with_complete_and_accurate,
    bottleneck_step_position,
    bottleneck_step,
    bottleneck_waiting_share_pct

from {{ ref('int_value_stream_map_totals_by_period') }}
where scope_kind = 'value_stream'
