-- One row per accepted survey answer, scored for the sentiment marts (DOMAIN.md, "Sentiment and developer
-- experience"): the question's dimension and scale, the team's value stream, and the score, which is the
-- raw value with reverse-scored questions flipped (scale_min + scale_max - value: 6 - v on 1-5, 1 - v on
-- yes/no, 10 - v on 0-10), so a higher score is always the favourable answer. Answers of a team that is
-- not in the org config never get here (the loader quarantines them; the inner join keeps it so).
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

questions as (
    select * from {{ ref('stg_survey__questions') }}
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

scored as (

    select
        responses.respondent_id,
        responses.wave,
        responses.team,
        teams.value_stream,
        responses.question_id,
        questions.dimension,
        questions.scale,
        questions.is_reverse_scored,
        responses.value as raw_value,
        case
            when questions.is_reverse_scored then questions.scale_min + questions.scale_max - responses.value
            else responses.value
        end as score,
        responses.submitted_at

    from responses
    inner join questions on questions.question_id = responses.question_id
    inner join teams on teams.team = responses.team

)

select * from scored
