{#- One row per live epic and initiative with its lifecycle (the flow layer's definitions), its outcome fields
    assessed by the org config's rules, when each outcome field was first filled, its key result checked
    against the OKR catalogue, and its children's figures (see the model's description). -#}
with

items as (

    select * from {{ ref('int_work_items_measured') }}

),

issues as (

    select * from {{ ref('stg_jira__issues') }}

),

owned_items as (

    select issue_id, parent_issue_id from {{ ref('int_work_items_owned') }}

),

epics as (

    select * from items
    where item_role in ('epic', 'initiative')

),

settings as (

    select
        coalesce(max(case when setting = 'outcome_min_length' then cast(setting_value as integer) end), 15)
            as outcome_min_length,
        coalesce(max(case when setting = 'closing_grace_days' then cast(setting_value as integer) end), 30)
            as closing_grace_days

    from {{ ref('stg_org__settings') }}

),

placeholders as (

    select distinct trim(lower(placeholder)) as placeholder from {{ ref('stg_org__outcome_placeholders') }}

),

key_results as (

    select * from {{ ref('stg_org__key_results') }}

),

-- the outcome texts to assess: each epic's current values, and every value its history gave the fields
outcome_values as (

    select
        epics.issue_id,
        fields.field,
        case fields.field
            when 'anticipated_outcome' then issues.anticipated_outcome
            else issues.actual_outcome
        end as outcome_text,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        true as is_current

    from epics
    inner join issues
        on epics.issue_id = issues.issue_id
    cross join (
        select 'anticipated_outcome' as field
        union all
        select 'actual_outcome' as field
    ) as fields

    union all

    select
        changelog_items.issue_id,
        changelog_items.field,
        changelog_items.to_string as outcome_text,
        changelog_items.changed_at,
        false as is_current

    from {{ ref('stg_jira__changelog_items') }} as changelog_items
    inner join epics
        on changelog_items.issue_id = epics.issue_id

    where changelog_items.field in ('anticipated_outcome', 'actual_outcome')

),

-- the one rule of an outcome text (docs block outcome_text_present): blank, a placeholder (without case,
-- whitespace collapsed) or shorter than the minimum length does not count
outcome_values_normalised as (

    select
        outcome_values.*,
        {{ flowmart_squash_spaces('outcome_values.outcome_text') }} as outcome_key

    from outcome_values

),

outcome_values_assessed as (

    select
        outcome_values_normalised.*,
        coalesce(outcome_values_normalised.outcome_key, '') <> ''
        and placeholders.placeholder is null
        and length(outcome_values_normalised.outcome_key) >= settings.outcome_min_length as is_present

    from outcome_values_normalised
    cross join settings
    left join placeholders
        on outcome_values_normalised.outcome_key = placeholders.placeholder

),

outcome_fields as (

    select
        issue_id,
        max(case when is_current and field = 'anticipated_outcome' and is_present then 1 else 0 end) = 1
            as has_anticipated_outcome,
        max(case when is_current and field = 'actual_outcome' and is_present then 1 else 0 end) = 1
            as has_actual_outcome,
        min(case when not is_current and field = 'anticipated_outcome' and is_present then changed_at end)
            as anticipated_outcome_changed_at,
        min(case when not is_current and field = 'actual_outcome' and is_present then changed_at end)
            as actual_outcome_changed_at,
        max(case when not is_current and field = 'anticipated_outcome' then 1 else 0 end) = 1
            as has_anticipated_outcome_history,
        max(case when not is_current and field = 'actual_outcome' then 1 else 0 end) = 1
            as has_actual_outcome_history

    from outcome_values_assessed
    group by issue_id

),

children as (

    select
        owned_items.parent_issue_id as issue_id,
        count(*) as child_items,
        sum(case when items.is_completed then 1 else 0 end) as child_items_completed,
        sum(case when items.is_in_progress then 1 else 0 end) as child_items_in_progress,
        sum(case when items.is_canceled then 1 else 0 end) as child_items_canceled,
        sum(items.active_time_days) as child_active_time_days

    from owned_items
    inner join items
        on owned_items.issue_id = items.issue_id

    where owned_items.parent_issue_id is not null
    group by owned_items.parent_issue_id

),

assessed as (

    select
        epics.issue_id,
        epics.issue_key,
        epics.item_role,
        epics.issue_type,
        issues.summary as title,
        epics.team,
        epics.value_stream,
        issues.parent_issue_id,
        epics.current_status_name,
        epics.current_flow_state,
        epics.created_at,
        epics.work_started_at,
        epics.completed_at,
        epics.canceled_at,
        epics.is_completed,
        epics.is_canceled,
        epics.is_in_progress,
        issues.anticipated_outcome,
        outcome_fields.has_anticipated_outcome,
        -- first filled: the first change that gave the field a text that counts; a text set when the epic
        -- was created leaves no change behind, so a present text without any history dates from creation
        coalesce(
            outcome_fields.anticipated_outcome_changed_at,
            case when outcome_fields.has_anticipated_outcome and not outcome_fields.has_anticipated_outcome_history
                then epics.created_at end
        ) as anticipated_outcome_filled_at,
        issues.actual_outcome,
        outcome_fields.has_actual_outcome,
        coalesce(
            outcome_fields.actual_outcome_changed_at,
            case when outcome_fields.has_actual_outcome and not outcome_fields.has_actual_outcome_history
                then epics.created_at end
        ) as actual_outcome_filled_at,
        -- the lag from completion to the actual outcome being recorded, when the history shows it; 0 when it
        -- was recorded by the completion
        case when epics.is_completed and outcome_fields.has_actual_outcome
            and outcome_fields.actual_outcome_changed_at is not null then
            greatest(
                {{ flowmart_days_between('epics.completed_at', 'outcome_fields.actual_outcome_changed_at') }}, 0.0
            )
        end as outcome_lag_days,
        issues.outcome_verdict,
        case {{ flowmart_squash_spaces('issues.outcome_verdict') }}
            when 'achieved' then 'achieved'
            when 'partially achieved' then 'partially_achieved'
            when 'partially' then 'partially_achieved'
            when 'not achieved' then 'not_achieved'
        end as outcome_verdict_class,
        nullif(trim(issues.key_result), '') as key_result_id,
        key_results.objective_id,
        key_results.key_result_id is not null as is_key_result_in_catalogue,
        epics.is_completed
        and epics.completed_at
        <= {{ dbt.dateadd('day', '-1 * settings.closing_grace_days', flowmart_now()) }} as is_due_for_outcome,
        coalesce(children.child_items, 0) as child_items,
        coalesce(children.child_items_completed, 0) as child_items_completed,
        coalesce(children.child_items_in_progress, 0) as child_items_in_progress,
        coalesce(children.child_items_canceled, 0) as child_items_canceled,
        coalesce(children.child_active_time_days, 0.0) as child_active_time_days

    from epics
    inner join issues
        on epics.issue_id = issues.issue_id
    cross join settings
    left join outcome_fields
        on epics.issue_id = outcome_fields.issue_id
    left join key_results
        on nullif(trim(issues.key_result), '') = key_results.key_result_id
    left join children
        on epics.issue_id = children.issue_id

)

select
    issue_id,
    issue_key,
    cast(item_role as {{ flowmart_string() }}) as item_role,
    issue_type,
    title,
    team,
    value_stream,
    parent_issue_id,
    current_status_name,
    current_flow_state,
    created_at,
    work_started_at,
    completed_at,
    canceled_at,
    is_completed,
    is_canceled,
    is_in_progress,
    anticipated_outcome,
    coalesce(has_anticipated_outcome, false) as has_anticipated_outcome,
    anticipated_outcome_filled_at,
    actual_outcome,
    coalesce(has_actual_outcome, false) as has_actual_outcome,
    actual_outcome_filled_at,
    outcome_verdict,
    cast(outcome_verdict_class as {{ flowmart_string() }}) as outcome_verdict_class,
    key_result_id,
    objective_id,
    is_key_result_in_catalogue,
    is_due_for_outcome,
    is_due_for_outcome and coalesce(has_actual_outcome, false) as is_loop_closed,
    outcome_lag_days,
    cast(child_items as integer) as child_items,
    cast(child_items_completed as integer) as child_items_completed,
    cast(child_items_in_progress as integer) as child_items_in_progress,
    cast(child_items_canceled as integer) as child_items_canceled,
    cast(child_active_time_days as {{ flowmart_double() }}) as child_active_time_days

from assessed
