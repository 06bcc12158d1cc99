-- Every live (not deleted) issue with its role, flow item type, team and value stream.
-- Team: the first ownership rule (lowest rule_order) whose criteria all match; null when none does.
-- Flow item type: a label rule wins over an issue-type rule, which wins over the default; epics and
-- initiatives have none.
with

issues as (
    select * from {{ ref('stg_jira__issues') }}
    where not is_deleted
),

labels as (
    select * from {{ ref('stg_jira__issue_labels') }}
    where issue_id in (select issue_id from issues)
),

components as (
    select * from {{ ref('stg_jira__issue_components') }}
    where issue_id in (select issue_id from issues)
),

rules as (
    select * from {{ ref('stg_org__jira_ownership_rules') }}
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

roles as (
    select * from {{ ref('stg_org__issue_type_roles') }}
),

type_rules as (
    select * from {{ ref('stg_org__flow_item_type_rules') }}
),

rule_matches as (
    select distinct
        issues.issue_id,
        rules.team,
        rules.rule_order
    from issues
    inner join rules
        on (rules.project_key is null or rules.project_key = issues.project_key)
        and (rules.team_field_value is null or rules.team_field_value = issues.team_field_value)
    left join components
        on rules.component is not null
        and components.issue_id = issues.issue_id
        and components.component = rules.component
    left join labels
        on rules.label is not null
        and labels.issue_id = issues.issue_id
        and labels.label = rules.label
    where (rules.component is null or components.issue_id is not null)
        and (rules.label is null or labels.issue_id is not null)
),

first_match as (
    select issue_id, team
    from (
        select issue_id, team, row_number() over (partition by issue_id order by rule_order) as match_rank
        from rule_matches
    ) as ranked
    where match_rank = 1
),

label_types as (
    select issue_id, flow_item_type
    from (
        select
            labels.issue_id,
            type_rules.flow_item_type,
            row_number() over (
                partition by labels.issue_id order by type_rules.rule_order, type_rules.match_value
            ) as type_rank
        from labels
        inner join type_rules
            on type_rules.rule_kind = 'label' and lower(type_rules.match_value) = lower(labels.label)
    ) as ranked
    where type_rank = 1
),

issue_type_types as (
    select lower(match_value) as issue_type_key, flow_item_type
    from type_rules where rule_kind = 'issue_type'
),

default_type as (
    select max(flow_item_type) as flow_item_type from type_rules where rule_kind = 'default'
),

final as (
    select
        issues.issue_id,
        issues.issue_key,
        issues.project_key,
        issues.issue_type,
        coalesce(roles.item_role, 'work_item') as item_role,
        case
            when coalesce(roles.item_role, 'work_item') in ('epic', 'initiative') then null
            else coalesce(label_types.flow_item_type, issue_type_types.flow_item_type,
                          default_type.flow_item_type, 'feature')
        end as flow_item_type,
        first_match.team,
        teams.value_stream,
        issues.parent_issue_id,
        issues.created_at,
        issues.updated_at,
        issues.resolved_at,
        issues.resolution,
        issues.status,
        issues.status_category
    from issues
    left join roles on lower(roles.issue_type) = lower(issues.issue_type)
    left join label_types on label_types.issue_id = issues.issue_id
    left join issue_type_types on issue_type_types.issue_type_key = lower(issues.issue_type)
    cross join default_type
    left join first_match on first_match.issue_id = issues.issue_id
    left join teams on teams.team = first_match.team
)

select * from final
