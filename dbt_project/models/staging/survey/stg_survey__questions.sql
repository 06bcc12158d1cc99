with

source as (

    select * from {{ source('survey', 'questions') }}

),

renamed as (

    select
        ----------  ids
        question_id,

        ---------- text
        question_text,

        ---------- dimensions
        dimension,
        scale,

        ---------- numerics
        cast(scale_min as integer) as scale_min,
        cast(scale_max as integer) as scale_max,

        ---------- booleans
        reverse_scored as is_reverse_scored

    from source

)

select * from renamed
