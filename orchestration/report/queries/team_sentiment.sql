-- question: How does a team feel in the last survey wave, next to the wave before?
-- table: marts.team_sentiment
-- filters: the last wave; one team per page; suppressed cells (is_suppressed) have no figure and must be
--   shown as suppressed, never as zero
-- units: % favourable and its change in points; eNPS from -100 to 100
select value_stream, team, wave, dimension, respondents, is_suppressed, favourable_pct, favourable_pct_change, enps
from marts.team_sentiment
where wave_start = (select max(wave_start) from marts.team_sentiment)
order by value_stream, team, dimension
