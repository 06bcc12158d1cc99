{#- Every objective of the OKR catalogue with its place in the cascade (company → division → team): the key
    result it serves (parent_key_result), that key result's objective, the root objective at the top of the
    chain, its depth (0 for a root) and the chain of objective ids from the root down. An objective whose
    parent key result is not in the catalogue is a root. -#}
with recursive

objectives as (

    select * from {{ ref('stg_org__objectives') }}

),

key_results as (

    select * from {{ ref('stg_org__key_results') }}

),

parents as (

    select
        objectives.objective_id,
        key_results.objective_id as parent_objective_id

    from objectives
    left join key_results
        on objectives.parent_key_result_id = key_results.key_result_id

),

cascade as (

    select
        objective_id,
        objective_id as root_objective_id,
        0 as cascade_depth,
        cast(objective_id as {{ dbt.type_string() }}) as cascade_path

    from parents
    where parent_objective_id is null

    union all

    select
        parents.objective_id,
        cascade.root_objective_id,
        cascade.cascade_depth + 1 as cascade_depth,
        cast(cascade.cascade_path || ' > ' || parents.objective_id as {{ dbt.type_string() }}) as cascade_path

    from parents
    inner join cascade
        on parents.parent_objective_id = cascade.objective_id

    -- a guard against a cycle in a hand-edited catalogue
    where cascade.cascade_depth < 20

)

select
    objectives.objective_id,
    objectives.objective_title,
    objectives.objective_level,
    objectives.parent_key_result_id,
    parents.parent_objective_id,
    cascade.root_objective_id,
    cast(cascade.cascade_depth as integer) as cascade_depth,
    cascade.cascade_path

from objectives
inner join parents
    on objectives.objective_id = parents.objective_id
left join cascade
    on objectives.objective_id = cascade.objective_id
