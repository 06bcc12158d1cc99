-- One row per merged pull request with its breakdown (DOMAIN.md, "Delivery"): coding = opened - first
-- commit authored; pickup = first review or comment by someone other than the author - opened; review =
-- merged - that first review; deploy = deployed - merged; a negative span is null. Bots are never
-- reviewers: their reviews and comments are left out. The deployment is the first counted deployment
-- (successful, production, not a rollback) of the pull request's service that shipped its merge commit
-- (int_deployment_commits_listed); none when no deployment range holds it.
with

pull_requests as (
    select * from {{ ref('stg_github__pull_requests') }}
    where is_merged
),

reviews as (
    select * from {{ ref('stg_github__reviews') }}
    where not reviewer_is_bot and submitted_at is not null and review_state <> 'PENDING'
),

comments as (
    select * from {{ ref('stg_github__pr_comments') }}
    where not commenter_is_bot
),

pr_commits as (
    select * from {{ ref('stg_github__pr_commits') }}
),

pr_trailers as (
    select * from {{ ref('stg_github__pr_commit_trailers') }}
),

labels as (
    select * from {{ ref('stg_github__pr_labels') }}
),

ai_labels as (
    select lower(pattern) as label from {{ ref('stg_org__ai_assist_patterns') }}
    where pattern_kind = 'label'
),

rules as (
    select * from {{ ref('stg_org__git_ownership_rules') }}
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

deployment_commits as (
    select * from {{ ref('int_deployment_commits_listed') }}
),

deployments as (
    select * from {{ ref('int_deployments_unified') }}
    where is_counted
),

first_rules as (
    select repository, team, service
    from (
        select
            repository,
            team,
            service,
            row_number() over (partition by repository order by rule_order) as rule_rank
        from rules
    ) as ranked
    where rule_rank = 1
),

owned as (
    select
        pull_requests.*,
        coalesce(first_rules.service, pull_requests.repository) as service,
        first_rules.team,
        teams.value_stream
    from pull_requests
    left join first_rules on first_rules.repository = pull_requests.repository
    left join teams on teams.team = first_rules.team
),

-- reviews and comments by someone other than the author
reviewer_events as (
    select reviews.pr_id, reviews.submitted_at as event_at, 'review' as event_kind
    from reviews
    inner join owned on owned.pr_id = reviews.pr_id
    where reviews.reviewer_id is distinct from owned.author_id
    union all
    select comments.pr_id, comments.created_at as event_at, 'comment' as event_kind
    from comments
    inner join owned on owned.pr_id = comments.pr_id
    where comments.commenter_id is distinct from owned.author_id
),

first_reviews as (
    select
        pr_id,
        min(event_at) as first_review_at,
        sum(case when event_kind = 'review' then 1 else 0 end) as review_count
    from reviewer_events
    group by pr_id
),

commit_facts as (
    select
        pr_commits.pr_id,
        min(pr_commits.authored_at) as first_commit_at,
        count(*) as commit_count,
        max(case when pr_commits.has_ai_trailer then 1 else 0 end) = 1 as has_ai_trailer
    from pr_commits
    group by pr_commits.pr_id
),

trailer_facts as (
    select pr_id, max(case when matches_ai_pattern then 1 else 0 end) = 1 as has_ai_trailer
    from pr_trailers
    group by pr_id
),

label_facts as (
    select labels.pr_id, count(*) > 0 as has_ai_label
    from labels
    inner join ai_labels on ai_labels.label = lower(labels.label)
    group by labels.pr_id
),

rework as (
    select pr_commits.pr_id, count(*) as rework_commit_count
    from pr_commits
    inner join first_reviews on first_reviews.pr_id = pr_commits.pr_id
    where pr_commits.committed_at > first_reviews.first_review_at
    group by pr_commits.pr_id
),

shipped as (
    select pr_id, deployment_id, deployed_at
    from (
        select
            owned.pr_id,
            deployments.deployment_id,
            deployments.finished_at as deployed_at,
            row_number() over (
                partition by owned.pr_id order by deployments.finished_at, deployments.deployment_id
            ) as shipping_rank
        from owned
        inner join deployment_commits
            on deployment_commits.service = owned.service
            and deployment_commits.sha = lower(owned.merge_commit_sha)
        inner join deployments on deployments.deployment_id = deployment_commits.deployment_id
    ) as ranked
    where shipping_rank = 1
),

final as (
    select
        owned.pr_id,
        owned.repository,
        owned.pr_number,
        owned.service,
        owned.team,
        owned.value_stream,
        owned.base_branch,
        lower(owned.merge_commit_sha) as merge_commit_sha,
        owned.author_is_bot as is_bot_authored,
        ----------  timestamps
        coalesce(commit_facts.first_commit_at, owned.created_at) as first_commit_at,
        owned.created_at as opened_at,
        first_reviews.first_review_at,
        owned.merged_at,
        shipped.deployed_at,
        shipped.deployment_id,
        shipped.deployment_id is not null as is_deployed,
        ----------  breakdown (minutes; negative spans null)
        {{ flowmart_minutes_if_not_negative('commit_facts.first_commit_at', 'owned.created_at') }} as coding_minutes,
        {{ flowmart_minutes_if_not_negative('owned.created_at', 'first_reviews.first_review_at') }} as pickup_minutes,
        {{ flowmart_minutes_if_not_negative('first_reviews.first_review_at', 'owned.merged_at') }} as review_minutes,
        {{ flowmart_minutes_if_not_negative('owned.merged_at', 'shipped.deployed_at') }} as deploy_minutes,
        {{ flowmart_minutes_if_not_negative('coalesce(commit_facts.first_commit_at, owned.created_at)', 'shipped.deployed_at') }}
            / 60.0 as change_lead_time_hours,
        ----------  size and review
        coalesce(owned.additions, 0) + coalesce(owned.deletions, 0) as lines_changed,
        owned.changed_files,
        coalesce(commit_facts.commit_count, owned.commit_count) as commit_count,
        coalesce(first_reviews.review_count, 0) as review_count,
        coalesce(first_reviews.review_count, 0) = 0 as is_merged_without_review,
        coalesce(rework.rework_commit_count, 0) as rework_commit_count,
        ----------  AI assistance
        coalesce(label_facts.has_ai_label, false) as has_ai_label,
        coalesce(commit_facts.has_ai_trailer, false) or coalesce(trailer_facts.has_ai_trailer, false) as has_ai_trailer,
        coalesce(label_facts.has_ai_label, false) or coalesce(commit_facts.has_ai_trailer, false)
            or coalesce(trailer_facts.has_ai_trailer, false) as is_ai_assisted
    from owned
    left join first_reviews on first_reviews.pr_id = owned.pr_id
    left join commit_facts on commit_facts.pr_id = owned.pr_id
    left join trailer_facts on trailer_facts.pr_id = owned.pr_id
    left join label_facts on label_facts.pr_id = owned.pr_id
    left join rework on rework.pr_id = owned.pr_id
    left join shipped on shipped.pr_id = owned.pr_id
)

select * from final
