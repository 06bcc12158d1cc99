with

source as (
    select * from {{ source('jira', 'changelog_items') }}
    where item_index >= 0  -- the loader's placeholder for issues without history
),

renamed as (
    select
        ----------  ids
        issue_id || '-' || history_id || '-' || cast(item_index as {{ dbt.type_string() }}) as changelog_item_id,
        issue_id,
        history_id,
        cast(item_index as integer) as item_index,
        author_id,
        ----------  change
        field,
        field_type,
        from_value,
        from_string,
        to_value,
        to_string,
        ----------  timestamps
        {{ flowmart_utc('changed_at') }} as changed_at,
        ----------  lineage (naive UTC already)
        loaded_at
    from source
)

select * from renamed
