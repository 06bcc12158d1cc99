with

source as (

    select * from {{ source('survey', 'responses') }}

),

renamed as (

    select
        ----------  ids
        respondent_id,
        question_id,

        ---------- dimensions
        wave,
        team,

        ---------- numerics
        cast(value as integer) as value,

        ---------- timestamps
        submitted_at,
        loaded_at,

        ---------- lineage
        source_file,
        cast(source_row as integer) as source_row

    from source

)

select * from renamed
