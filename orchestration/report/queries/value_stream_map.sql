-- question: Where does each value stream's work wait, and how much of it passes each step without rework?
-- tables: marts.value_stream_map_steps_by_value_stream, marts.value_stream_map_by_value_stream
-- filters: grain = 'quarter'; the last complete quarter; steps in the map's order
-- units: days (median time in step, process time; totals), % (waiting share, %C&A, activity ratio, rolled %C&A)
select steps.value_stream, steps.period_start, steps.step_position, steps.step_status, steps.order_source,
       steps.items_through, steps.time_in_step_p50_days, steps.active_time_p50_days, steps.waiting_time_p50_days,
       steps.waiting_share_pct, steps.complete_and_accurate_pct, steps.rework_count,
       steps.top_backward_transitions, steps.is_bottleneck,
       totals.total_process_time_days, totals.total_lead_time_days, totals.activity_ratio_pct,
       totals.rolled_complete_and_accurate_pct, totals.bottleneck_step
from marts.value_stream_map_steps_by_value_stream as steps
inner join marts.value_stream_map_by_value_stream as totals
    on steps.value_stream = totals.value_stream
    and steps.grain = totals.grain
    and steps.period_start = totals.period_start
where steps.grain = 'quarter'
  and steps.period_start = (select max(period_start) from marts.value_stream_map_by_value_stream
                            where grain = 'quarter' and is_period_complete)
order by steps.value_stream, steps.step_position
