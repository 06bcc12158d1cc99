-- The commits each counted deployment (successful, production, not a rollback) shipped, one row per
-- deployment and commit.
-- Deploy tags of local Git repositories: the commits reachable from the tag's commit and not from the
-- previous counted deployment's commit of the same repository (`git log previous..tag`, every parent
-- followed); a repository's first deploy tag ships its whole loaded history. Commits that left the branch
-- in a force-push are not ancestors of later tags, so no range holds them.
-- Other sources (GitHub deployments and Actions runs, delivery-events files), which name one commit only:
-- the merge commits of the service's pull requests merged after the previous counted deployment's point and
-- at or before this one's, the point being the merge of the pull request whose merge commit is deployed,
-- else the deployment's start. The points of earlier deployments carry forward (a later deployment of an
-- older commit ships nothing new).
with

deployments as (
    select * from {{ ref('int_deployments_unified') }}
    where is_counted
),

commits as (
    select * from {{ ref('stg_git__commits') }}
),

pull_requests as (
    select * from {{ ref('stg_github__pull_requests') }}
    where is_merged
),

rules as (
    select * from {{ ref('stg_org__git_ownership_rules') }}
),

-- the service of each merged pull request: the first ownership rule of its repository
pull_request_services as (
    select
        pull_requests.pr_id,
        lower(pull_requests.merge_commit_sha) as merge_commit_sha,
        pull_requests.merged_at,
        coalesce(first_rules.service, pull_requests.repository) as service
    from pull_requests
    left join (
        select
            repository,
            service,
            row_number() over (partition by repository order by rule_order) as rule_rank
        from rules
    ) as first_rules
        on first_rules.repository = pull_requests.repository
        and first_rules.rule_rank = 1
),

---------- deploy tags: commit ranges in the local repositories' history
tag_deployments as (
    select
        deployment_id,
        service,
        repository,
        sha,
        lag(deployment_id) over (partition by repository order by finished_at, deployment_id) as previous_deployment_id
    from deployments
    where source_system = 'git_tag'
),

parent_links as (
    select repository, sha, first_parent_sha as parent_sha
    from commits
    where first_parent_sha is not null
    union all
    select repository, sha, {{ dbt.split_part('parent_shas', "' '", 2) }} as parent_sha
    from commits
    where parent_count >= 2
    union all
    select repository, sha, {{ dbt.split_part('parent_shas', "' '", 3) }} as parent_sha
    from commits
    where parent_count >= 3
),

-- every commit reachable from each deploy tag, and those not reachable from the repository's previous one
-- (the recursion sits in a subquery: dbt's unit tests put their fixtures into the model's first `with`)
tag_ranges as (
    select deployment_id, service, sha, authored_at, is_merge_commit
    from (
        with recursive ancestors (deployment_id, repository, sha) as (
            select deployment_id, repository, sha
            from tag_deployments
            {{ flowmart_recursive_union() }}
            select ancestors.deployment_id, ancestors.repository, parent_links.parent_sha
            from ancestors
            inner join parent_links
                on parent_links.repository = ancestors.repository
                and parent_links.sha = ancestors.sha
        )

        select distinct
            tag_deployments.deployment_id,
            tag_deployments.service,
            ancestors.sha,
            commits.authored_at,
            commits.is_merge as is_merge_commit
        from tag_deployments
        inner join ancestors on ancestors.deployment_id = tag_deployments.deployment_id
        inner join commits
            on commits.repository = ancestors.repository
            and commits.sha = ancestors.sha
        where not exists (
            select 1 from ancestors as shipped_before
            where shipped_before.deployment_id = tag_deployments.previous_deployment_id
                and shipped_before.sha = ancestors.sha
        )
    ) as ranges
),

---------- deployments that name one commit: ranges of pull-request merges
-- the merge instant of each deployed commit that is a pull request's merge commit (of the same service)
deployed_merges as (
    select
        deployments.deployment_id,
        max(pull_request_services.merged_at) as merged_at
    from deployments
    inner join pull_request_services
        on pull_request_services.service = deployments.service
        and pull_request_services.merge_commit_sha = deployments.sha
    where deployments.source_system <> 'git_tag'
    group by deployments.deployment_id
),

sha_deployments as (
    select
        deployments.deployment_id,
        deployments.service,
        deployments.finished_at,
        coalesce(deployed_merges.merged_at, deployments.started_at) as point_at
    from deployments
    left join deployed_merges on deployed_merges.deployment_id = deployments.deployment_id
    where deployments.source_system <> 'git_tag'
),

sha_deployment_points as (
    select
        sha_deployments.*,
        max(point_at) over (
            partition by service order by finished_at, deployment_id
            rows between unbounded preceding and 1 preceding
        ) as previous_point_at
    from sha_deployments
),

merge_ranges as (
    select
        sha_deployment_points.deployment_id,
        sha_deployment_points.service,
        pull_request_services.merge_commit_sha as sha,
        cast(null as {{ dbt.type_timestamp() }}) as authored_at,
        cast(null as boolean) as is_merge_commit
    from sha_deployment_points
    inner join pull_request_services
        on pull_request_services.service = sha_deployment_points.service
        and pull_request_services.merged_at <= sha_deployment_points.point_at
        and (
            sha_deployment_points.previous_point_at is null
            or pull_request_services.merged_at > sha_deployment_points.previous_point_at
        )
    where pull_request_services.merge_commit_sha is not null
),

final as (
    select deployment_id, service, sha, authored_at, is_merge_commit, 'git_history' as range_kind from tag_ranges
    union all
    select deployment_id, service, sha, authored_at, is_merge_commit, 'pull_request_merges' as range_kind
    from merge_ranges
)

select * from final
