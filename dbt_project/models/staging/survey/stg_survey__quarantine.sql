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
