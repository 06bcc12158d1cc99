{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['team', 'grain', 'period_start'],
        on_schema_change='fail',
        post_hook=["{{ flowmart_delete_keys_not_in(this, ['team', 'grain', 'period_start'],
                    ref('int_flow_metrics_aggregated'), \"scope_kind = 'team'\") }}"],
    )
}}

{#- Flow Framework metrics per team and week / month / quarter: one row for every team and period
    from the first item's creation to now, including periods without completions. -#}
with

metrics as (

    select * from {{ ref('int_flow_metrics_aggregated') }}
    where scope_kind = 'team'

)

select
    value_stream,
    team,
    grain,
    period_start,
    period_end,
    is_period_complete,
    snapshot_days,
    items_completed,
    items_completed_feature,
    items_completed_defect,
    items_completed_debt,
    items_completed_risk,
    flow_time_p50_hours,
    flow_time_p85_hours,
    flow_efficiency_pct,
    flow_load_avg,
    flow_load_avg_feature,
    flow_load_avg_defect,
    flow_load_avg_debt,
    flow_load_avg_risk,
    flow_load_end,
    flow_load_end_feature,
    flow_load_end_defect,
    flow_load_end_debt,
    flow_load_end_risk,
    completed_share_feature_pct,
    completed_share_defect_pct,
    completed_share_debt_pct,
    completed_share_risk_pct,
    in_progress_share_feature_pct,
    in_progress_share_defect_pct,
    in_progress_share_debt_pct,
    in_progress_share_risk_pct,
    items_canceled,
    lead_time_p50_hours

from metrics
{{ flowmart_rows_not_stored_yet() }}
