-- Rule: a deployment counts once in the change fail rate however many incidents hit it, so a period never
-- has more failed deployments than production deployments, and the rate stays within 0-100 %.
select 'team' as scope_kind, team as scope_name, grain, period_start
from {{ ref('delivery_metrics_by_team') }}
where failed_deployments > production_deployments or change_fail_rate_pct < 0 or change_fail_rate_pct > 100

union all

select 'service' as scope_kind, service as scope_name, grain, period_start
from {{ ref('delivery_metrics_by_service') }}
where failed_deployments > production_deployments or change_fail_rate_pct < 0 or change_fail_rate_pct > 100
