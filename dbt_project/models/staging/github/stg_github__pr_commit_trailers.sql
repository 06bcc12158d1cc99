-- The raw table appears only once a loaded commit carries a trailer: until then this model is empty
-- (documented exception: a relation check instead of a hard dependency on an optional table).
{%- set raw = source('github', 'pr_commit_trailers') %}
{%- set exists = adapter.get_relation(database=raw.database, schema=raw.schema, identifier=raw.identifier) %}
with

source as (
    {% if exists is not none or not execute -%}
    select * from {{ raw }}
    {%- else -%}
    select
        cast(null as bigint) as pr_id,
        cast(null as {{ dbt.type_string() }}) as sha,
        cast(null as bigint) as trailer_order,
        cast(null as {{ dbt.type_string() }}) as trailer_key,
        cast(null as {{ dbt.type_string() }}) as trailer_value,
        cast(null as boolean) as is_person,
        cast(null as boolean) as matches_ai_pattern
    where 1 = 0
    {%- endif %}
),

renamed as (
    select
        ----------  ids
        pr_id,
        sha,
        cast(trailer_order as integer) as trailer_order,
        ----------  trailer
        trailer_key,
        lower(trailer_key) as trailer_key_normalized,
        trailer_value,
        coalesce(is_person, false) as is_person,
        coalesce(matches_ai_pattern, false) as matches_ai_pattern
    from source
)

select * from renamed
