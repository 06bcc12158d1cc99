{#- One row per key result of the OKR catalogue with its objective's place in the cascade, the epics and
    initiatives linked to it (their key result field) and their progress. -#}
with

key_results as (

    select * from {{ ref('stg_org__key_results') }}

),

objectives as (

    select * from {{ ref('int_objectives_cascaded') }}

),

epics as (

    select * from {{ ref('int_epics_assessed') }}
    where is_key_result_in_catalogue

),

linked as (

    select
        key_result_id,
        count(*) as epics_linked,
        sum(case when is_completed then 1 else 0 end) as epics_completed,
        sum(case when is_in_progress then 1 else 0 end) as epics_in_progress,
        sum(case when is_canceled then 1 else 0 end) as epics_canceled,
        sum(case when has_anticipated_outcome then 1 else 0 end) as epics_with_anticipated_outcome,
        sum(case when is_loop_closed then 1 else 0 end) as epics_with_loop_closed,
        sum(child_items) as child_items,
        sum(child_items_completed) as child_items_completed,
        sum(child_items_canceled) as child_items_canceled

    from epics
    group by key_result_id

),

-- the objectives that cascade from the key result (their parent_key_result)
cascaded as (

    select parent_key_result_id as key_result_id, count(*) as child_objectives
    from objectives
    where parent_key_result_id is not null
    group by parent_key_result_id

)

select
    cast(key_results.key_result_id as {{ flowmart_string() }}) as key_result_id,
    cast(key_results.key_result_title as {{ flowmart_string() }}) as key_result_title,
    cast(key_results.objective_id as {{ flowmart_string() }}) as objective_id,
    cast(objectives.objective_title as {{ flowmart_string() }}) as objective_title,
    cast(objectives.objective_level as {{ flowmart_string() }}) as objective_level,
    cast(objectives.root_objective_id as {{ flowmart_string() }}) as root_objective_id,
    cast(objectives.cascade_depth as integer) as cascade_depth,
    cast(coalesce(cascaded.child_objectives, 0) as integer) as child_objectives,
    cast(coalesce(linked.epics_linked, 0) as integer) as epics_linked,
    cast(coalesce(linked.epics_completed, 0) as integer) as epics_completed,
    cast(coalesce(linked.epics_in_progress, 0) as integer) as epics_in_progress,
    cast(coalesce(linked.epics_canceled, 0) as integer) as epics_canceled,
    cast(coalesce(linked.epics_with_anticipated_outcome, 0) as integer) as epics_with_anticipated_outcome,
    cast(coalesce(linked.epics_with_loop_closed, 0) as integer) as epics_with_loop_closed,
    cast(100.0 * linked.epics_completed / nullif(linked.epics_linked - linked.epics_canceled, 0)
        as {{ flowmart_double() }}) as epics_progress_pct,
    cast(coalesce(linked.child_items, 0) as integer) as child_items,
    cast(coalesce(linked.child_items_completed, 0) as integer) as child_items_completed,
    cast(100.0 * linked.child_items_completed / nullif(linked.child_items - linked.child_items_canceled, 0)
        as {{ flowmart_double() }}) as child_items_progress_pct

from key_results
left join objectives
    on key_results.objective_id = objectives.objective_id
left join linked
    on key_results.key_result_id = linked.key_result_id
left join cascaded
    on key_results.key_result_id = cascaded.key_result_id
