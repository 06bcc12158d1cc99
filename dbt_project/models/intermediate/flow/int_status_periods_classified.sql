-- Every interval between two status transitions of a work item, from its creation to now, with its flow
-- state (see the model's description).
with

issues as (

    select * from {{ ref('stg_jira__issues') }}

),

owned_items as (

    select * from {{ ref('int_work_items_owned') }}

),

changelog_items as (

    select * from {{ ref('stg_jira__changelog_items') }}

),

statuses_mapped as (

    select * from {{ ref('int_statuses_mapped') }}

),

-- the mapping by status name, for a status id the mapping model does not know (one row per name)
statuses_mapped_by_name as (

    select
        project_key,
        status_name,
        min(status_category) as status_category,
        min(flow_state) as flow_state,
        max(case when is_mapped then 1 else 0 end) = 1 as is_mapped

    from statuses_mapped
    group by project_key, status_name

),

statuses as (

    select * from {{ ref('stg_jira__statuses') }}

),

-- every live item: work items and incidents (the flow's scope), epics and initiatives (the outcome models')
work_items as (

    select
        owned_items.issue_id,
        owned_items.project_key,
        owned_items.created_at,
        owned_items.status as current_status_name,
        issues.status_id as current_status_id

    from owned_items
    inner join issues
        on owned_items.issue_id = issues.issue_id

),

-- status changes in order of their instants (naive UTC timestamps: offsets were resolved at staging)
status_changes as (

    select
        changelog_items.issue_id,
        changelog_items.changed_at,
        changelog_items.from_value as from_status_id,
        changelog_items.from_string as from_status_name,
        changelog_items.to_value as to_status_id,
        changelog_items.to_string as to_status_name,
        row_number() over (
            partition by changelog_items.issue_id
            order by changelog_items.changed_at, changelog_items.history_id, changelog_items.item_index
        ) as change_number

    from changelog_items
    inner join work_items
        on changelog_items.issue_id = work_items.issue_id

    where changelog_items.field = 'status'

),

-- period 0: the first status, from creation (or from the first change, should the tracker date it earlier)
first_periods as (

    select
        work_items.issue_id,
        0 as period_index,
        case when first_change.issue_id is null then work_items.current_status_id
            else first_change.from_status_id end as status_id,
        case when first_change.issue_id is null then work_items.current_status_name
            else first_change.from_status_name end as status_name,
        case when first_change.changed_at < work_items.created_at then first_change.changed_at
            else work_items.created_at end as started_at

    from work_items
    left join status_changes as first_change
        on work_items.issue_id = first_change.issue_id
        and first_change.change_number = 1

),

later_periods as (

    select
        issue_id,
        change_number as period_index,
        to_status_id as status_id,
        to_status_name as status_name,
        changed_at as started_at

    from status_changes

),

periods as (

    select * from first_periods
    union all
    select * from later_periods

),

bounded_periods as (

    select
        periods.*,
        lead(periods.started_at) over (
            partition by periods.issue_id order by periods.period_index
        ) as ended_at

    from periods

),

classified as (

    select
        bounded_periods.issue_id,
        bounded_periods.period_index,
        bounded_periods.status_id,
        bounded_periods.status_name,
        coalesce(by_id.status_category, by_name.status_category, statuses.status_category) as status_category,
        -- the mapping of the status id; else of the status name as it was then; else (a status unknown
        -- to the mapping model) the Jira status-category fallback
        coalesce(
            by_id.flow_state,
            by_name.flow_state,
            case statuses.status_category
                when 'new' then 'backlog'
                when 'done' then 'done'
                else 'active'
            end
        ) as flow_state,
        coalesce(by_id.is_mapped, by_name.is_mapped, false) as is_status_mapped,
        bounded_periods.started_at,
        bounded_periods.ended_at,
        bounded_periods.ended_at is null as is_current_period,
        {{ flowmart_days_between('bounded_periods.started_at', 'bounded_periods.ended_at') }} as duration_days,
        work_items.project_key

    from bounded_periods
    inner join work_items
        on bounded_periods.issue_id = work_items.issue_id
    left join statuses_mapped as by_id
        on work_items.project_key = by_id.project_key
        and bounded_periods.status_id = by_id.status_id
    left join statuses_mapped_by_name as by_name
        on work_items.project_key = by_name.project_key
        and bounded_periods.status_name = by_name.status_name
    left join statuses
        on bounded_periods.status_id = statuses.status_id

)

select
    issue_id || '-' || cast(period_index as {{ dbt.type_string() }}) as status_period_id,
    issue_id,
    cast(period_index as integer) as period_index,
    status_id,
    status_name,
    status_category,
    cast(flow_state as {{ flowmart_string() }}) as flow_state,
    is_status_mapped,
    started_at,
    ended_at,
    is_current_period,
    duration_days,
    project_key

from classified
