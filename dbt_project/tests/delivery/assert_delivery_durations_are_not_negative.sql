-- Rule: a duration of the delivery marts is never negative (a negative span is a data inconsistency and
-- must be null): the pull request breakdown, the change lead time and the recovery time.
select 'pull_request_cycle_times' as mart, cast(pr_id as {{ flowmart_string() }}) as row_id
from {{ ref('pull_request_cycle_times') }}
where coding_minutes < 0 or pickup_minutes < 0 or review_minutes < 0 or deploy_minutes < 0
    or change_lead_time_hours < 0

union all

select 'production_deployments' as mart, deployment_id as row_id
from {{ ref('production_deployments') }}
where recovery_hours < 0
