-- The floor of the flow build: the core team-month flow figures of flow_metrics_by_team (items completed,
-- flow time p50 / p85, flow efficiency, average and end-of-month flow load) computed by hand, in one DuckDB
-- query, straight from the raw tables the loaders land. benchmarks/harness.py times it beside
-- `flowmart build` and checks that it gives the marts' figures. DuckDB only (it is a yardstick, not a model);
-- :now is replaced by the pinned clock (FLOWMART_NOW) before it runs.
with

teams as (select name as team from raw_org.teams),

mappings as (select project, lower(status) as status_key, flow_state from raw_org.status_mappings),

items as (
    select i.id as issue_id, i.project_key, i.status_id, i.status, i.resolution,
        cast(i.created at time zone 'UTC' as timestamp) as created_at,
        (select r.team from raw_org.jira_ownership_rules as r
         where (r.project is null or r.project = i.project_key)
           and (r.team_field is null or r.team_field = i.team_field_value)
           and (r.component is null or exists (select 1 from raw_jira.issue_components as c
                                               where c.issue_id = i.id and c.component = r.component))
           and (r.label is null or exists (select 1 from raw_jira.issue_labels as l
                                           where l.issue_id = i.id and l.label = r.label))
         order by r.rule_order limit 1) as team
    from raw_jira.issues as i
    left join raw_jira.issue_deletions as d on d.issue_id = i.id
    left join raw_org.issue_type_roles as roles on lower(roles.issue_type) = lower(i.issue_type)
    where not coalesce(d.is_deleted, false) and coalesce(roles.role, 'work_item') in ('work_item', 'incident')
),

changes as (
    select c.issue_id, cast(c.changed_at at time zone 'UTC' as timestamp) as changed_at,
        c.from_value, c.from_string, c.to_value, c.to_string,
        row_number() over (partition by c.issue_id order by c.changed_at, c.history_id, c.item_index) as n
    from raw_jira.changelog_items as c
    where c.field = 'status' and c.item_index >= 0
),

-- period 0 from creation (the first change's "from", else the current status), then one period per change
periods as (
    select items.issue_id, 0 as n,
        case when first.issue_id is null then items.status_id else first.from_value end as status_id,
        case when first.issue_id is null then items.status else first.from_string end as status_name,
        least(coalesce(first.changed_at, items.created_at), items.created_at) as started_at
    from items left join changes as first on first.issue_id = items.issue_id and first.n = 1
    union all
    select changes.issue_id, n, to_value, to_string, changed_at from changes
),

states as (
    select periods.issue_id, periods.n, periods.started_at,
        lead(periods.started_at) over (partition by periods.issue_id order by periods.n) as ended_at,
        coalesce(own.flow_state, any_project.flow_state,
                 case coalesce(s.category, 'indeterminate') when 'new' then 'backlog' when 'done' then 'done'
                     else 'active' end) as flow_state
    from periods
    join items on items.issue_id = periods.issue_id
    left join raw_jira.statuses as s on s.id = periods.status_id
    left join mappings as own on own.project = items.project_key
        and own.status_key = lower(coalesce(s.name, periods.status_name))
    left join mappings as any_project on any_project.project = '*'
        and any_project.status_key = lower(coalesce(s.name, periods.status_name))
),

summary as (
    select issue_id, max(n) as last_n,
        max(case when flow_state not in ('done', 'canceled') then n end) as last_open_n,
        min(case when flow_state in ('active', 'waiting') then started_at end) as started_at,
        arg_max(flow_state, n) as current_state
    from states group by issue_id
),

ends as (
    select summary.*, case when last_open_n is null or last_open_n < last_n then entry.started_at end as ended_at
    from summary
    left join states as entry on entry.issue_id = summary.issue_id and entry.n = coalesce(summary.last_open_n + 1, 0)
),

measured as (
    select items.team, items.created_at, ends.started_at, ends.ended_at,
        ends.ended_at is not null and not (ends.current_state = 'canceled' or coalesce(lower(items.resolution) in
            (select lower(resolution) from raw_org.canceled_resolutions), false)) as is_completed,
        (epoch(ends.ended_at) - epoch(ends.started_at)) / 86400.0 as flow_days,
        (select sum((epoch(a.ended_at) - epoch(a.started_at)) / 86400.0) from states as a
         where a.issue_id = ends.issue_id and a.flow_state = 'active' and a.started_at < ends.ended_at) as active_days
    from ends join items on items.issue_id = ends.issue_id
    where items.team is not null
),

completions as (
    select team, date_trunc('month', ended_at)::date as month, count(*) as items_completed,
        quantile_cont(case when started_at is not null then flow_days end, 0.5) as flow_time_p50_days,
        quantile_cont(case when started_at is not null then flow_days end, 0.85) as flow_time_p85_days,
        100.0 * sum(case when started_at is not null then least(coalesce(active_days, 0), flow_days) end)
            / nullif(sum(case when started_at is not null then flow_days end), 0) as flow_efficiency_pct
    from measured where is_completed group by all
),

-- Flow Load by interval arithmetic: an item is in progress at the end of each day from its start day to the
-- day before its end (or to yesterday), so a month holds the overlap of the two day ranges
clock as (
    select cast(:now as date) as today, cast(:now as date) - 1 as yesterday,
        (select min(cast(created_at as date)) from measured) as first_day
),

months as (
    select team, month::date as month,
        least(month::date + interval 1 month - interval 1 day, clock.yesterday)::date as last_day,
        (least(month::date + interval 1 month - interval 1 day, clock.yesterday)::date
            - greatest(month::date, clock.first_day) + 1) as snapshot_days
    from teams, clock,
        range(cast(date_trunc('month', clock.first_day) as timestamp), cast(clock.today as timestamp) + interval 1 day,
              interval 1 month) as spine (month)
),

wip as (
    select team, cast(started_at as date) as first_day,
        least(coalesce(cast(ended_at as date) - 1, clock.yesterday), clock.yesterday) as last_day
    from measured, clock where started_at is not null
),

loads as (
    select months.team, months.month,
        sum(greatest(0, least(wip.last_day, months.last_day) - greatest(wip.first_day, months.month) + 1)) as days,
        count(*) filter (where wip.first_day <= months.last_day and wip.last_day >= months.last_day) as at_end
    from months join wip on wip.team = months.team
        and wip.first_day <= months.last_day and wip.last_day >= months.month
    group by all
)

select months.team, months.month as period_start,
    coalesce(completions.items_completed, 0) as items_completed,
    completions.flow_time_p50_days, completions.flow_time_p85_days, completions.flow_efficiency_pct,
    case when months.snapshot_days > 0 then coalesce(loads.days, 0) / months.snapshot_days end as flow_load_avg,
    case when months.snapshot_days > 0 then coalesce(loads.at_end, 0) end as flow_load_end
from months
left join completions on completions.team = months.team and completions.month = months.month
left join loads on loads.team = months.team and loads.month = months.month
order by 1, 2
