-- Rule: the deployment of a pull request is a counted deployment (successful, production, not a rollback):
-- failed and staging deployments never ship a change.
select cycle_times.pr_id, cycle_times.deployment_id
from {{ ref('pull_request_cycle_times') }} as cycle_times
left join {{ ref('production_deployments') }} as deployments
    on deployments.deployment_id = cycle_times.deployment_id
where cycle_times.deployment_id is not null
    and (deployments.deployment_id is null or not deployments.is_counted)
