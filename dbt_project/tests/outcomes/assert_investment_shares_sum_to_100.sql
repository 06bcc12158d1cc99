-- Investment distribution: in every scope, period and dimension with active time, the categories' shares of
-- the active time sum to 100 %.
select
    scope_kind,
    scope_name,
    grain,
    period_start,
    dimension,
    sum(active_time_share_pct) as share_sum
from {{ ref('investment_distribution') }}
group by 1, 2, 3, 4, 5
having sum(active_time_days) > 0 and abs(sum(active_time_share_pct) - 100) > 0.001
