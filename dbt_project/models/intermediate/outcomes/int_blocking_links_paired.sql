{#- One row per "blocks" link between two live items: the blocking and the blocked item with their teams,
    whether the teams differ, and the window in which the dependency was open (docs block
    cross_team_dependency). Jira keeps a link on both of its issues (outward "blocks" on one, inward "is
    blocked by" on the other); the link counts once. -#}
with

links as (

    select * from {{ ref('stg_jira__issue_links') }}
    where lower(link_type) = 'blocks'

),

items as (

    select * from {{ ref('int_work_items_measured') }}

),

-- seen from either side: outward, the holder blocks the other issue; inward, the other issue blocks it
pairs as (

    select distinct
        link_id,
        case when direction = 'outward' then issue_id else linked_issue_id end as blocking_issue_id,
        case when direction = 'outward' then linked_issue_id else issue_id end as blocked_issue_id

    from links

),

paired as (

    select
        pairs.link_id,
        pairs.blocking_issue_id,
        blocking.issue_key as blocking_issue_key,
        blocking.team as blocking_team,
        blocking.value_stream as blocking_value_stream,
        blocking.is_canceled as is_blocking_item_canceled,
        pairs.blocked_issue_id,
        blocked.issue_key as blocked_issue_key,
        blocked.team as blocked_team,
        blocked.value_stream as blocked_value_stream,
        -- the tracker does not date a link: the dependency is open from the later creation of the two items
        -- until either of them ends (done or canceled)
        case when blocking.created_at > blocked.created_at then blocking.created_at else blocked.created_at end
            as opened_at,
        case
            when blocking.work_ended_at is null then blocked.work_ended_at
            when blocked.work_ended_at is null then blocking.work_ended_at
            when blocking.work_ended_at < blocked.work_ended_at then blocking.work_ended_at
            else blocked.work_ended_at
        end as closed_at

    from pairs
    inner join items as blocking
        on pairs.blocking_issue_id = blocking.issue_id
    inner join items as blocked
        on pairs.blocked_issue_id = blocked.issue_id

)

select
    link_id,
    blocking_issue_id,
    blocking_issue_key,
    blocking_team,
    blocking_value_stream,
    is_blocking_item_canceled,
    blocked_issue_id,
    blocked_issue_key,
    blocked_team,
    blocked_value_stream,
    blocking_team is not null and blocked_team is not null and blocking_team <> blocked_team as is_cross_team,
    opened_at,
    -- an item that ended before the other was created leaves an empty window
    case when closed_at < opened_at then opened_at else closed_at end as closed_at,
    closed_at is null as is_open

from paired
