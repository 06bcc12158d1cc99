{#- The outcome metrics per team and month / quarter (int_outcome_metrics_aggregated): one row for every
    team and period from the first item's creation to now, including periods without epics. -#}
select
    value_stream,
    team,
    grain,
    period_start,
    period_end,
    is_period_complete,
    epics_in_scope,
    epics_without_anticipated_outcome,
    feature_factory_ratio_pct,
    epics_linked_to_key_result,
    okr_linkage_pct,
    epics_completed,
    epics_due_for_outcome,
    epics_with_loop_closed,
    closing_the_loop_rate_pct,
    outcome_lag_p50_days,
    epics_with_verdict,
    epics_achieved,
    epics_partially_achieved,
    epics_not_achieved,
    outcome_hit_rate_pct,
    items_completed,
    items_completed_aligned,
    aligned_items_pct,
    aligned_active_time_pct

from {{ ref('int_outcome_metrics_aggregated') }}
where scope_kind = 'team'
