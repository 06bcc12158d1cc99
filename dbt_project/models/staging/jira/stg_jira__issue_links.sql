with

source as (
    select * from {{ source('jira', 'issue_links') }}
    where link_id is not null  -- the loader's placeholder for issues without links
),

renamed as (
    select
        ----------  ids
        issue_id || '-' || link_id || '-' || direction as issue_link_id,
        link_id,
        issue_id,
        linked_issue_id,
        linked_issue_key,
        ----------  link
        link_type,
        direction,
        description as link_description
    from source
)

select * from renamed
