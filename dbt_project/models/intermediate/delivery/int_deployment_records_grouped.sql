-- Every deployment record of every source (GitHub deployments with their final status, GitHub Actions runs
-- of the deployment workflow, deploy tags of local Git repositories, delivery-events files), with its
-- service, team and value stream, and the deployment it belongs to. Several records of one deployment
-- (per job, per source) count once: records of the same service, environment, commit and kind (rollback
-- or not) that start within 60 minutes of the previous one's end form one deployment, whose id is
-- `<source>:<id>` of its first record.
-- Ownership: the first git ownership rule (rule order) whose service is the record's declared service
-- (delivery-events files name the service), else whose repository is the record's repository; the
-- service is the declared one, else the rule's, else the repository.
with

github_deployments as (
    select * from {{ ref('stg_github__deployments') }}
),

workflow_runs as (
    select * from {{ ref('stg_github__workflow_runs') }}
),

git_deployments as (
    select * from {{ ref('stg_git__deployments') }}
),

file_deployments as (
    select * from {{ ref('stg_delivery__deployments') }}
),

rules as (
    select * from {{ ref('stg_org__git_ownership_rules') }}
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

records as (
    select
        'github' as source_system,
        cast(deployment_id as {{ flowmart_string() }}) as source_deployment_id,
        repository,
        cast(null as {{ flowmart_string() }}) as declared_service,
        lower(sha) as sha,
        ref,
        environment,
        is_production,
        is_rollback,
        case
            when final_state = 'success' then 'success'
            when final_state in ('failure', 'error') then 'failure'
            else 'in_progress'
        end as deployment_status,
        created_at as started_at,
        case when final_state in ('success', 'failure', 'error') then final_state_at end as finished_at
    from github_deployments

    union all

    select
        'github_actions' as source_system,
        cast(run_id as {{ flowmart_string() }}) as source_deployment_id,
        repository,
        cast(null as {{ flowmart_string() }}) as declared_service,
        lower(head_sha) as sha,
        head_branch as ref,
        'production' as environment,
        true as is_production,
        false as is_rollback,
        case
            when run_status <> 'completed' then 'in_progress'
            when conclusion = 'success' then 'success'
            when conclusion in ('failure', 'timed_out', 'startup_failure') then 'failure'
            else 'canceled'
        end as deployment_status,
        coalesce(started_at, created_at) as started_at,
        case when run_status = 'completed' then updated_at end as finished_at
    from workflow_runs

    union all

    select
        'git_tag' as source_system,
        deployment_id as source_deployment_id,
        repository,
        cast(null as {{ flowmart_string() }}) as declared_service,
        lower(sha) as sha,
        tag_name as ref,
        environment,
        {{ flowmart_is_production_environment('environment') }} as is_production,
        false as is_rollback,
        deployment_status,
        deployed_at as started_at,
        deployed_at as finished_at
    from git_deployments

    union all

    select
        'delivery_events' as source_system,
        deployment_id as source_deployment_id,
        repository,
        service as declared_service,
        lower(sha) as sha,
        ref,
        environment,
        {{ flowmart_is_production_environment('environment') }} as is_production,
        false as is_rollback,
        deployment_status,
        coalesce(started_at, finished_at) as started_at,
        case when deployment_status in ('success', 'failure', 'rolled_back') then finished_at end as finished_at
    from file_deployments
),

rule_matches as (
    select
        records.source_system,
        records.source_deployment_id,
        rules.team,
        rules.service,
        rules.repository,
        row_number() over (
            partition by records.source_system, records.source_deployment_id
            order by case when rules.service = records.declared_service then 0 else 1 end, rules.rule_order
        ) as match_rank
    from records
    inner join rules
        on rules.service = records.declared_service
        or rules.repository = records.repository
),

owned as (
    select
        records.*,
        coalesce(records.declared_service, rule_matches.service, records.repository) as service,
        rule_matches.team,
        teams.value_stream
    from records
    left join rule_matches
        on rule_matches.source_system = records.source_system
        and rule_matches.source_deployment_id = records.source_deployment_id
        and rule_matches.match_rank = 1
    left join teams on teams.team = rule_matches.team
),

-- the key of the records that may describe one deployment, and whether a record opens a new deployment
sequenced as (
    select
        owned.*,
        case
            when lag(coalesce(owned.finished_at, owned.started_at)) over (
                partition by owned.service, owned.environment, coalesce(owned.sha, owned.source_system || ':' || owned.source_deployment_id), owned.is_rollback
                order by owned.started_at, owned.source_system, owned.source_deployment_id
            ) >= {{ dbt.dateadd('minute', -60, 'owned.started_at') }} then 0
            else 1
        end as opens_deployment
    from owned
),

numbered as (
    select
        sequenced.*,
        sum(opens_deployment) over (
            partition by service, environment, coalesce(sha, source_system || ':' || source_deployment_id), is_rollback
            order by started_at, source_system, source_deployment_id
            rows between unbounded preceding and current row
        ) as deployment_number
    from sequenced
),

grouped as (
    select
        numbered.*,
        first_value(source_system || ':' || source_deployment_id) over (
            partition by service, environment, coalesce(sha, source_system || ':' || source_deployment_id), is_rollback,
                deployment_number
            order by started_at, source_system, source_deployment_id
            rows between unbounded preceding and unbounded following
        ) as deployment_id,
        row_number() over (
            partition by service, environment, coalesce(sha, source_system || ':' || source_deployment_id), is_rollback,
                deployment_number
            order by coalesce(finished_at, started_at) desc, source_system desc, source_deployment_id desc
        ) as recency_in_deployment
    from numbered
)

select
    deployment_id,
    source_system,
    source_deployment_id,
    repository,
    service,
    team,
    value_stream,
    sha,
    ref,
    environment,
    is_production,
    is_rollback,
    deployment_status,
    started_at,
    finished_at,
    recency_in_deployment = 1 as is_latest_record
from grouped
