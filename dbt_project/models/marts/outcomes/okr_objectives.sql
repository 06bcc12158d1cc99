{#- One row per objective of the OKR catalogue with its cascade (company → division → team through
    parent_key_result: int_objectives_cascaded), its key results and the epics linked to them. -#}
with

objectives as (

    select * from {{ ref('int_objectives_cascaded') }}

),

key_results as (

    select
        objective_id,
        count(*) as key_results,
        sum(epics_linked) as epics_linked,
        sum(epics_completed) as epics_completed,
        sum(epics_canceled) as epics_canceled

    from {{ ref('okr_key_results') }}
    group by objective_id

)

select
    cast(objectives.objective_id as {{ flowmart_string() }}) as objective_id,
    cast(objectives.objective_title as {{ flowmart_string() }}) as objective_title,
    cast(objectives.objective_level as {{ flowmart_string() }}) as objective_level,
    cast(objectives.parent_key_result_id as {{ flowmart_string() }}) as parent_key_result_id,
    cast(objectives.parent_objective_id as {{ flowmart_string() }}) as parent_objective_id,
    cast(objectives.root_objective_id as {{ flowmart_string() }}) as root_objective_id,
    cast(objectives.cascade_depth as integer) as cascade_depth,
    cast(objectives.cascade_path as {{ flowmart_string() }}) as cascade_path,
    cast(coalesce(key_results.key_results, 0) as integer) as key_results,
    cast(coalesce(key_results.epics_linked, 0) as integer) as epics_linked,
    cast(coalesce(key_results.epics_completed, 0) as integer) as epics_completed,
    cast(100.0 * key_results.epics_completed / nullif(key_results.epics_linked - key_results.epics_canceled, 0)
        as {{ flowmart_double() }}) as epics_progress_pct

from objectives
left join key_results
    on objectives.objective_id = key_results.objective_id
