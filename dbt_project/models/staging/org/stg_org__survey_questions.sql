with

source as (
    select * from {{ source('org', 'survey_questions') }}
),

renamed as (
    select
        id as question_id,
        text as question_text,
        dimension,
        scale,
        reverse_scored as is_reverse_scored
    from source
)

select * from renamed
