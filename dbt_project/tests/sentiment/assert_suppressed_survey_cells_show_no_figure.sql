-- Survey anonymity: a cell with fewer respondents than the anonymity threshold is suppressed, and a suppressed
-- cell shows no figure at all (DOMAIN.md: "NULL plus a flag"). Rows returned break the rule.
with

threshold as (
    select coalesce(
        max(case when setting = 'anonymity_threshold' then cast(setting_value as integer) end), 5
    ) as min_respondents
    from {{ ref('stg_org__settings') }}
),

cells as (
    select 'team' as scope_kind, team as scope_name, wave, dimension, respondents, is_suppressed, mean_score,
        favourable_pct, yes_pct, promoters_pct, detractors_pct, enps, mean_score_change, favourable_pct_change,
        yes_pct_change, enps_change
    from {{ ref('team_sentiment') }}
    union all
    select 'value_stream' as scope_kind, value_stream as scope_name, wave, dimension, respondents, is_suppressed,
        mean_score, favourable_pct, yes_pct, promoters_pct, detractors_pct, enps, mean_score_change,
        favourable_pct_change, yes_pct_change, enps_change
    from {{ ref('value_stream_sentiment') }}
)

select cells.*
from cells
cross join threshold
where (cells.respondents < threshold.min_respondents and not cells.is_suppressed)
    or (
        cells.is_suppressed and (
            cells.mean_score is not null or cells.favourable_pct is not null or cells.yes_pct is not null
            or cells.promoters_pct is not null or cells.detractors_pct is not null or cells.enps is not null
            or cells.mean_score_change is not null or cells.favourable_pct_change is not null
            or cells.yes_pct_change is not null or cells.enps_change is not null
        )
    )
