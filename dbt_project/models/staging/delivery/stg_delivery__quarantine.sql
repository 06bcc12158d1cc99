-- The raw row is left out on purpose: it may hold undocumented free text. Read it in the raw table.
with

source as (

    select * from {{ source('delivery', 'quarantine') }}

),

renamed as (

    select
        ----------  ids
        quarantine_id,

        ---------- lineage
        source_file,
        source_line,

        ---------- properties
        kind as record_kind,
        reason,

        ---------- timestamps
        {{ flowmart_utc('quarantined_at') }} as quarantined_at

    from source

)

select * from renamed
