{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        indexes=flowmart_postgres_indexes([['superseded_at']]),
        on_schema_change='fail',
        meta={'flowmart_changed_columns': ['superseded_at']},
        post_hook=["{{ flowmart_purge_superseded(this) }}"],
    )
}}

{#- The measured state a work item had before an incremental run changed it or removed it from
    int_work_items_measured: one row per item and run that superseded it; an item new to the work items gets
    a row with no state (its state columns null). The models rolled up from the
    work items read it to find the days and periods an item left or whose work in progress moved (it was
    reopened, canceled, deleted, moved to another team or day), instead of comparing every stored day or
    period with a recount.

    It runs just before int_work_items_measured (which depends on it) and reads that model's stored table,
    not through ref (the table is downstream): the stored rows of the items the coming run rewrites whose
    issue was updated after their stored update, and the stored rows of the items the run removes (no longer
    an owned work item). `superseded_at` is the update that superseded the row (for a removed item, the
    newest update of any owned item); a reader takes the rows superseded after its own watermark.

    A post-hook deletes the rows every reader has read for good (flowmart_purge_superseded), so the table
    holds a few days of changes. A full refresh starts it empty (nothing stored was superseded): its readers
    must be rebuilt in full with it, as every full refresh of flowmart's runs does (all models). -#}
{#- Recorded in every run but a full refresh, also in the first run of the record itself on a warehouse whose
    measured work items are built (one built by an earlier version). -#}
{%- set measured = adapter.get_relation(this.database, this.schema, 'int_work_items_measured')
    if execute and not flags.FULL_REFRESH else none %}

{%- if measured is not none %}
    {%- set watermark = flowmart_last_run_watermark(measured) %}
{%- endif %}

{%- set columns = ['issue_id', 'team', 'value_stream', 'flow_item_type', 'is_completed', 'is_started', 'is_canceled',
                   'completed_at', 'canceled_at', 'wip_first_day', 'wip_last_day', 'item_updated_at'] %}

with

owned_items as (

    select issue_id, updated_at from {{ ref('int_work_items_owned') }}
    where item_role in {{ flowmart_flow_item_roles() }}

),

{% if measured is not none -%}
superseded as (

    -- changed: the run rewrites the items updated after the watermark; those updated since they were stored,
    -- and those new to the work items (no stored state: its state columns are null)
    select
        owned_items.issue_id,
        {% for c in columns if c != 'issue_id' %}stored.{{ c }}, {% endfor %}false as is_removed,
        owned_items.updated_at as superseded_at
    from owned_items
    left join {{ measured }} as stored
        on stored.issue_id = owned_items.issue_id
    where
        owned_items.updated_at > {{ watermark }}
        and (stored.issue_id is null or owned_items.updated_at > stored.item_updated_at)

    union all

    -- removed: deleted in the tracker, or no longer a work item (the post-hook of int_work_items_measured
    -- deletes them, and completed_work_items' pre-hook)
    select
        {% for c in columns %}stored.{{ c }}, {% endfor %}true as is_removed,
        (select max(updated_at) from owned_items) as superseded_at
    from {{ measured }} as stored
    where stored.issue_id not in (select issue_id from owned_items)

)
{%- else -%}
superseded as (

    select
        issue_id, null as team, null as value_stream, null as flow_item_type, null as is_completed,
        null as is_started, null as is_canceled, null as completed_at, null as canceled_at, null as wip_first_day,
        null as wip_last_day, updated_at as item_updated_at, null as is_removed, updated_at as superseded_at
    from owned_items
    where false

)
{%- endif %}

-- one set of types whether the table starts empty or takes rows (PostgreSQL's text against varchar)
select
    cast(issue_id as {{ dbt.type_string() }}) as issue_id,
    cast(team as {{ dbt.type_string() }}) as team,
    cast(value_stream as {{ dbt.type_string() }}) as value_stream,
    cast(flow_item_type as {{ dbt.type_string() }}) as flow_item_type,
    cast(is_completed as boolean) as is_completed,
    cast(is_started as boolean) as is_started,
    cast(is_canceled as boolean) as is_canceled,
    cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
    cast(canceled_at as {{ dbt.type_timestamp() }}) as canceled_at,
    cast(wip_first_day as date) as wip_first_day,
    cast(wip_last_day as date) as wip_last_day,
    cast(item_updated_at as {{ dbt.type_timestamp() }}) as item_updated_at,
    cast(is_removed as boolean) as is_removed,
    -- the dbt invocation that recorded the row: int_work_items_measured deletes the items its run removed
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as recorded_by,
    cast(superseded_at as {{ dbt.type_timestamp() }}) as superseded_at

from superseded
