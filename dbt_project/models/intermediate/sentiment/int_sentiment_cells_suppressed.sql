-- Survey figures per team and per value stream, wave and dimension (DOMAIN.md, "Sentiment and developer
-- experience"), with the anonymity rule applied once, here, for every mart that shows them:
--   * primary suppression: a cell with fewer respondents than the org config's `anonymity_threshold`
--     (stg_org__settings, default 5) shows no value (`suppression_reason` = 'below_threshold');
--   * complementary suppression against differencing: when the suppressed teams of a value stream's cell
--     hold fewer respondents together than the threshold, the value stream's figure minus the shown teams'
--     figures would reveal them; the smallest shown team of that cell is suppressed too
--     (`suppression_reason` = 'differencing'), so what can be derived is a group of at least k people. The
--     value stream's own figure stays shown: small teams still count in it.
--   * the change vs the previous wave is null when either wave's cell is suppressed (else the suppressed
--     value could be read back from the change).
-- Respondent counts and participation stay shown: they are not answers.
with

answers as (
    select * from {{ ref('int_survey_answers_scored') }}
),

teams as (
    select * from {{ ref('stg_org__teams') }}
),

settings as (
    select * from {{ ref('stg_org__settings') }}
),

threshold as (
    select
        coalesce(
            max(case when setting = 'anonymity_threshold' then cast(setting_value as integer) end), 5
        ) as min_respondents
    from settings
),

-- a wave's first day: from its name (2025-Q3, 2025-09), else the first submission day
waves as (

    select
        wave,
        coalesce(
            case
                when wave like '____-Q_' and substring(wave, 7, 1) in ('1', '2', '3', '4')
                    and substring(wave, 1, 4) between '1900' and '2999'
                    then cast(
                        substring(wave, 1, 4) || '-'
                        || case substring(wave, 7, 1) when '1' then '01' when '2' then '04' when '3' then '07'
                            else '10' end
                        || '-01' as date
                    )
                when wave like '____-__' and substring(wave, 6, 2) between '01' and '12'
                    and substring(wave, 1, 4) between '1900' and '2999'
                    then cast(wave || '-01' as date)
            end,
            first_submitted_on
        ) as wave_start

    from (
        select wave, min(cast(submitted_at as date)) as first_submitted_on
        from answers
        group by wave
    ) as named

),

waves_ordered as (
    select
        wave,
        wave_start,
        lag(wave) over (order by wave_start, wave) as previous_wave
    from waves
),

sizes as (
    select 'team' as scope_kind, team as scope_name, value_stream, member_count as group_size
    from teams
    union all
    select 'value_stream' as scope_kind, value_stream as scope_name, value_stream, sum(member_count) as group_size
    from teams
    group by value_stream
),

scoped as (
    select 'team' as scope_kind, team as scope_name, answers.*
    from answers
    union all
    select 'value_stream' as scope_kind, value_stream as scope_name, answers.*
    from answers
),

measured as (

    select
        scope_kind,
        scope_name,
        value_stream,
        wave,
        dimension,
        count(distinct respondent_id) as respondents,
        count(*) as answers,
        avg(case when scale = 'likert_1_5' then cast(score as {{ flowmart_double() }}) end) as mean_score,
        {{ flowmart_share_pct("scale = 'likert_1_5' and score >= 4", "scale = 'likert_1_5'") }} as favourable_pct,
        {{ flowmart_share_pct("scale = 'yes_no' and score = 1", "scale = 'yes_no'") }} as yes_pct,
        {{ flowmart_share_pct("scale = 'scale_0_10' and score >= 9", "scale = 'scale_0_10'") }} as promoters_pct,
        {{ flowmart_share_pct("scale = 'scale_0_10' and score <= 6", "scale = 'scale_0_10'") }} as detractors_pct

    from scoped
    group by 1, 2, 3, 4, 5

),

primary_suppressed as (
    select
        measured.*,
        measured.respondents < threshold.min_respondents as is_below_threshold,
        threshold.min_respondents
    from measured
    cross join threshold
),

-- per value stream cell: respondents of its teams below the threshold, together
team_cells_below as (
    select
        value_stream,
        wave,
        dimension,
        sum(case when is_below_threshold then respondents else 0 end) as respondents_suppressed
    from primary_suppressed
    where scope_kind = 'team'
    group by 1, 2, 3
),

shown_teams_ranked as (
    select
        scope_name,
        wave,
        dimension,
        row_number() over (
            partition by value_stream, wave, dimension order by respondents, scope_name
        ) as size_rank
    from primary_suppressed
    where scope_kind = 'team' and not is_below_threshold
),

suppressed as (

    select
        primary_suppressed.*,
        case
            when primary_suppressed.is_below_threshold then 'below_threshold'
            when primary_suppressed.scope_kind = 'team'
                and shown_teams_ranked.size_rank = 1
                and team_cells_below.respondents_suppressed > 0
                and team_cells_below.respondents_suppressed < primary_suppressed.min_respondents
                then 'differencing'
        end as suppression_reason

    from primary_suppressed
    left join shown_teams_ranked
        on primary_suppressed.scope_kind = 'team'
        and shown_teams_ranked.scope_name = primary_suppressed.scope_name
        and shown_teams_ranked.wave = primary_suppressed.wave
        and shown_teams_ranked.dimension = primary_suppressed.dimension
    left join team_cells_below
        on team_cells_below.value_stream = primary_suppressed.value_stream
        and team_cells_below.wave = primary_suppressed.wave
        and team_cells_below.dimension = primary_suppressed.dimension

),

shown as (
    select
        scope_kind,
        scope_name,
        value_stream,
        wave,
        dimension,
        respondents,
        answers,
        suppression_reason,
        suppression_reason is not null as is_suppressed,
        case when suppression_reason is null then mean_score end as mean_score,
        case when suppression_reason is null then favourable_pct end as favourable_pct,
        case when suppression_reason is null then yes_pct end as yes_pct,
        case when suppression_reason is null then promoters_pct end as promoters_pct,
        case when suppression_reason is null then detractors_pct end as detractors_pct,
        case when suppression_reason is null then promoters_pct - detractors_pct end as enps
    from suppressed
)

select
    shown.scope_kind,
    shown.scope_name,
    shown.value_stream,
    shown.wave,
    waves_ordered.wave_start,
    shown.dimension,
    sizes.group_size,
    shown.respondents,
    shown.answers,
    cast(100.0 * shown.respondents / nullif(sizes.group_size, 0) as {{ flowmart_double() }}) as participation_pct,
    shown.is_suppressed,
    shown.suppression_reason,
    shown.mean_score,
    shown.favourable_pct,
    shown.yes_pct,
    shown.promoters_pct,
    shown.detractors_pct,
    shown.enps,
    waves_ordered.previous_wave,
    previous.is_suppressed as is_previous_suppressed,
    shown.mean_score - previous.mean_score as mean_score_change,
    shown.favourable_pct - previous.favourable_pct as favourable_pct_change,
    shown.yes_pct - previous.yes_pct as yes_pct_change,
    shown.enps - previous.enps as enps_change

from shown
inner join waves_ordered on waves_ordered.wave = shown.wave
left join sizes
    on sizes.scope_kind = shown.scope_kind
    and sizes.scope_name = shown.scope_name
left join shown as previous
    on previous.scope_kind = shown.scope_kind
    and previous.scope_name = shown.scope_name
    and previous.dimension = shown.dimension
    and previous.wave = waves_ordered.previous_wave
