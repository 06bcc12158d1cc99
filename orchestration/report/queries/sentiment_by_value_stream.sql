-- question: How do the people of each value stream feel, wave after wave (sentiment next to the numbers)?
-- table: marts.value_stream_sentiment
-- filters: every survey wave; cells below the anonymity threshold are suppressed (is_suppressed, figures null)
-- units: % favourable (1-5 questions, reverse-scored flipped); eNPS from -100 to 100 (dimension 'enps')
select value_stream, wave, wave_start, dimension, respondents, is_suppressed, favourable_pct, enps
from marts.value_stream_sentiment
order by value_stream, wave_start, dimension
