-- The raw rejected `value` is left out on purpose: it may hold typed free text.
with

source as (

    select * from {{ source('survey', 'quarantine') }}

),

renamed as (

    select
        ----------  ids
        respondent_id,
        question_id,

        ---------- lineage
        source_file,
        cast(source_row as integer) as source_row,
        source_column,

        ---------- measures
        -- rows landed before value_count existed stood for one value each
        cast(case when reason <> 'invalid_file' then coalesce(value_count, 1) end as integer) as value_count,

        ---------- dimensions
        reason,
        detail,
        wave,
        team,

        ---------- timestamps
        submitted_at,
        loaded_at

    from source

)

select * from renamed
