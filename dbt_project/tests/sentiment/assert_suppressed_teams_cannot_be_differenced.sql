-- Suppression holds against differencing: where a value stream's cell is shown, its suppressed teams hold at
-- least the anonymity threshold of respondents together (or there is none), so subtracting the shown teams
-- from the value stream never reveals a group smaller than the threshold. Rows returned break the rule.
with

threshold as (
    select coalesce(
        max(case when setting = 'anonymity_threshold' then cast(setting_value as integer) end), 5
    ) as min_respondents
    from {{ ref('stg_org__settings') }}
),

suppressed_teams as (
    select teams.value_stream, teams.wave, teams.dimension, sum(teams.respondents) as respondents
    from {{ ref('team_sentiment') }} as teams
    where teams.is_suppressed
    group by 1, 2, 3
)

select suppressed_teams.*
from suppressed_teams
inner join {{ ref('value_stream_sentiment') }} as streams
    on streams.value_stream = suppressed_teams.value_stream
    and streams.wave = suppressed_teams.wave
    and streams.dimension = suppressed_teams.dimension
cross join threshold
where not streams.is_suppressed
    and suppressed_teams.respondents < threshold.min_respondents
