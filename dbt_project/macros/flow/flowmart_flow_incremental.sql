{#- Helpers of the incremental flow models (status periods, work items, daily WIP). -#}

{#- The work items the flow metrics are computed over: tracker work items and incidents. Epics and
    initiatives are containers (their flow is the flow of their children) and are left out. -#}
{% macro flowmart_flow_item_roles() -%}
    ('work_item', 'incident')
{%- endmacro %}

{#- The issues to (re)compute in an incremental run: updated since the newest `stored_column` (an instant of
    the tracker's last update) already stored in `relation`, minus a lookback (var `flow_lookback_days`,
    default 3) for late-arriving loads. Renders a boolean condition on the column `updated_at_column`. -#}
{% macro flowmart_changed_since_last_run(updated_at_column, relation, stored_column='item_updated_at') -%}
    {{ updated_at_column }} > ({{ flowmart_last_run_watermark(relation, stored_column) }})
{%- endmacro %}

{#- The watermark of an incremental run: the newest `stored_column` in `relation` minus the lookback (var
    `flow_lookback_days`, default 3); 1900-01-01 for an empty relation. In a run it is computed first and
    written as a constant (flowmart_constants), so the database filters the scans with it (DuckDB skips the
    row groups of older issues) and plans the joins on the few changed issues, not on every issue. -#}
{% macro flowmart_last_run_watermark(relation, stored_column='item_updated_at') -%}
    {{ flowmart_constants(relation, [dbt.dateadd('day', -1 * var('flow_lookback_days', 3),
        "coalesce(max(" ~ stored_column ~ "), cast('1900-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ "))")])[0] }}
{%- endmacro %}

{#- The timestamps `expressions` (aggregates) over `relation`, for a filter: in a run, computed first in one
    query and written as constants ('null' for none); at parse time and in unit tests (whose relations are
    fixtures, not the stored tables), scalar subqueries. -#}
{% macro flowmart_constants(relation, expressions) -%}
    {%- set constants = [] -%}
    {%- if flowmart_queries_ahead() -%}
        {%- set values = run_query('select ' ~ expressions | join(', ') ~ ' from ' ~ relation).rows[0] -%}
        {%- for value in values -%}
            {%- do constants.append(flowmart_timestamp_literal(value) if value is not none else 'null') -%}
        {%- endfor -%}
    {%- else -%}
        {%- for expression in expressions -%}
            {%- do constants.append('(select ' ~ expression ~ ' from ' ~ relation ~ ')') -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(constants) }}
{%- endmacro %}

{#- The watermark of a reader of int_work_items_superseded: flowmart_last_run_watermark on `stored_column`, which
    must be the column its meta flowmart_superseded_watermark names, since the record's purge deletes the rows
    superseded at or before that column's watermark (flowmart_purge_superseded). A model that reads the record
    with another column fails to compile, in every run but a unit test (whose `model` is the test). -#}
{% macro flowmart_superseded_watermark(relation, stored_column) -%}
    {%- if execute and model.resource_type == 'model' -%}
        {%- set named = (config.get('meta') or {}).get('flowmart_superseded_watermark') -%}
        {%- if named != stored_column -%}
            {{ exceptions.raise_compiler_error(
                model.name ~ " reads int_work_items_superseded after its watermark on '" ~ stored_column
                ~ "', but its meta flowmart_superseded_watermark names " ~ (("'" ~ named ~ "'") if named else "none")
                ~ ": the record's purge would delete rows it has not read. Name the same column in both.") }}
        {%- endif -%}
    {%- endif -%}
    {{ flowmart_last_run_watermark(relation, stored_column) }}
{%- endmacro %}

{#- True when a model may query the warehouse while it compiles: a run, not the parse, and not a unit test
    (its inputs are fixtures). -#}
{% macro flowmart_queries_ahead() -%}
    {{ return(execute and model.resource_type != 'unit_test') }}
{%- endmacro %}

{#- A naive timestamp as a SQL constant. -#}
{% macro flowmart_timestamp_literal(value) -%}
    cast('{{ value.strftime('%Y-%m-%d %H:%M:%S.%f') }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The oldest load of the issues updated after `watermark` (an expression), for an incremental run: the
    Jira loader writes an issue with its changelog, labels and components, all stamped with the same load
    instant (`loaded_at`), so every row of those issues, in any of these tables, was loaded no earlier.
    Computed first and returned as a constant (a timestamp literal), which lets DuckDB skip the row groups
    of older loads instead of reading every issue, the 5 M-row changelog, every label and component. Returns
    false when no issue was updated, and none (no restriction) while the bound is unknown: at parse time, in
    unit tests, or when such an issue landed before the loader kept the column. Use it through
    flowmart_loaded_since. -#}
{% macro flowmart_oldest_load_of_issues_updated_after(watermark) -%}
    {%- if flowmart_queries_ahead() -%}
        {%- set query -%}
            select min(loaded_at), count(*), count(loaded_at)
            from {{ ref('stg_jira__issues') }}
            where updated_at > {{ watermark }}
        {%- endset -%}
        {%- set row = run_query(query).rows[0] -%}
        {%- if row[1] == 0 -%}
            {{ return(false) }}
        {%- elif row[1] == row[2] -%}
            {{ return(flowmart_timestamp_literal(row[0])) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- A condition on the load instant `column` of Jira rows, from a bound of
    flowmart_oldest_load_of_issues_updated_after: `column >= bound`; false for no issue; true (no
    restriction) for an unknown bound. -#}
{% macro flowmart_loaded_since(column, bound) -%}
    {%- if bound is none -%}
        true
    {%- elif bound is sameas false -%}
        false
    {%- else -%}
        {{ column }} >= {{ bound }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: remove the rows of issues that left the scope (deleted in the tracker, or no longer a
    work item), which an incremental delete+insert on the changed issues would otherwise keep. -#}
{% macro flowmart_delete_issues_out_of_scope(relation) -%}
    delete from {{ relation }} as stored
    where not exists (
        select 1 from {{ ref('int_work_items_owned') }} as owned
        where owned.issue_id = stored.issue_id and owned.item_role in {{ flowmart_flow_item_roles() }}
    )
{%- endmacro %}

{#- Post-hook of the owned work items: remove the issues that are no longer live (deleted in the tracker, or
    gone from the raw data after a full reload). -#}
{% macro flowmart_delete_issues_no_longer_live(relation) -%}
    delete from {{ relation }} as stored
    where not exists (
        select 1 from {{ ref('stg_jira__issues') }} as issues
        where issues.issue_id = stored.issue_id and not issues.is_deleted
    )
{%- endmacro %}

{#- The statement of a pre-hook that only incremental runs execute (the call block's body, rendered in them only);
    in other runs a statement that does nothing. -#}
{% macro flowmart_in_incremental_runs() -%}
    {%- if is_incremental() -%}
        {{ caller() }}
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of int_work_items_measured: remove the items this run removed from the work items (deleted in the
    tracker, or no longer a work item), which int_work_items_superseded recorded earlier in the same dbt
    invocation. (A run without that model removes nothing; the next one that has it records them again.) -#}
{% macro flowmart_delete_items_removed_in_this_run(relation) -%}
    delete from {{ relation }}
    where issue_id in (
        select issue_id from {{ ref('int_work_items_superseded') }}
        where is_removed and recorded_by = '{{ invocation_id }}'
    )
{%- endmacro %}

{#- Pre-hook of completed_work_items: in an incremental run, delete the items whose completed state was
    superseded since the last run (minus the lookback): reopened, canceled, moved, deleted or out of scope.
    The run writes again those completed now (all were updated since). -#}
{% macro flowmart_delete_completions_superseded(relation) -%}
    {%- call flowmart_in_incremental_runs() -%}
        delete from {{ relation }}
        where issue_id in (
            select issue_id from {{ ref('int_work_items_superseded') }}
            where is_completed and superseded_at > ({{ flowmart_superseded_watermark(relation, 'last_updated_at') }})
        )
    {%- endcall -%}
{%- endmacro %}

{#- Post-hook of int_work_items_superseded: delete the rows that every model reading it has read for good, those
    superseded at or before the lowest of their watermarks (a reader names the stored column of its watermark
    in meta flowmart_superseded_watermark; it takes the rows superseded after its newest value minus the
    lookback). It runs before the readers in a build, so their watermarks are those of their last run. While a
    reader is not built, nothing is deleted. -#}
{% macro flowmart_purge_superseded(relation) -%}
    {%- set watermarks = [] -%}
    {%- if execute and is_incremental() -%}
        {%- for node in graph.nodes.values()
                if node.resource_type == 'model' and node.config.meta.get('flowmart_superseded_watermark') -%}
            {%- set reader = adapter.get_relation(node.database, node.schema, node.alias) -%}
            {%- if reader is none -%}
                {{ return('select 1 as nothing_to_purge') }}
            {%- endif -%}
            {%- do watermarks.append(
                flowmart_last_run_watermark(reader, node.config.meta['flowmart_superseded_watermark'])) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if watermarks -%}
        delete from {{ relation }} where superseded_at <= least({{ watermarks | join(', ') }})
    {%- else -%}
        select 1 as nothing_to_purge
    {%- endif -%}
{%- endmacro %}

{#- The days (team, completed_date) a completed, started item left since a reader's last run: the completion
    days of the states of work items superseded after `watermark` (the reader's flowmart_superseded_watermark on
    the column its meta flowmart_superseded_watermark names, an expression). With the days of the items updated since, they are the days whose completed items changed. -#}
{% macro flowmart_wait_days_left(watermark) -%}
    select superseded.team, cast(superseded.completed_at as date) as completed_date
    from {{ ref('int_work_items_superseded') }} as superseded
    where
        superseded.is_completed and superseded.is_started
        and superseded.superseded_at > ({{ watermark }})
{%- endmacro %}

{#- Pre-hook of int_flow_waits_daily: in an incremental run, delete the days an item left (above); the run
    writes them again from the items completed on them now, so a day left without any loses its rows. -#}
{% macro flowmart_delete_days_items_left(relation) -%}
    {%- call flowmart_in_incremental_runs() -%}
        delete from {{ relation }}
        where (team, completed_date) in (
            select team, completed_date from ({{ flowmart_wait_days_left(flowmart_superseded_watermark(relation, 'completions_updated_through')) }}) as days_left
        )
    {%- endcall -%}
{%- endmacro %}

{#- Post-hook of the daily WIP snapshot: remove the days an item is no longer in progress on (or an item
    that left the scope), which a delete+insert on (issue_id, snapshot_date) would otherwise keep. -#}
{% macro flowmart_delete_stale_wip_days(relation) -%}
    delete from {{ relation }}
    where (issue_id, snapshot_date) in (
        select wip_days.issue_id, wip_days.snapshot_date
        from {{ relation }} as wip_days
        left join {{ ref('int_work_items_measured') }} as work_items
            on wip_days.issue_id = work_items.issue_id
            and wip_days.snapshot_date >= work_items.wip_first_day
            and (work_items.wip_last_day is null or wip_days.snapshot_date <= work_items.wip_last_day)
        where work_items.issue_id is null
    )
{%- endmacro %}

{#- Post-hook of int_flow_metrics_aggregated: remove the periods that end before the first work item's
    creation (the first item was deleted or left the scope), which a full refresh would not have. -#}
{% macro flowmart_delete_periods_before_first_item(relation) -%}
    delete from {{ relation }}
    where period_end < (
        select min(cast(created_at as date))
        from {{ ref('int_work_items_measured') }}
        where team is not null
    )
{%- endmacro %}

{#- Marts kept in step with their source row by row (flow metrics per team and value stream, baselines).
    An incremental run computes every row of the mart but writes only those that are new or differ from the
    stored row (`except`: nulls compare equal), replacing them by key (delete+insert); the post-hook
    flowmart_delete_keys_not_in removes the keys the source no longer has. The result equals a rebuild,
    while a daily run writes the few hundred rows that moved instead of rewriting the table. Only for marts
    whose values are exact functions of stored rows: a sum over a parallel aggregation can differ in its
    last bits from one run to the next, and every row would then count as changed. -#}
{% macro flowmart_rows_not_stored_yet() -%}
    {%- if is_incremental() %}
except
select * from {{ this }}
    {%- endif %}
{%- endmacro %}

{#- Post-hook of a mart kept in step (above): delete the rows whose key (`keys`, a list of columns) is no
    longer in the rows of `source` where `source_filter` holds (`source_keys`: the key's columns there, when
    their names differ). -#}
{% macro flowmart_delete_keys_not_in(relation, keys, source, source_filter='true', source_keys=none) -%}
    delete from {{ relation }}
    where ({{ keys | join(', ') }}) not in (
        select {{ (source_keys or keys) | join(', ') }} from {{ source }} where {{ source_filter }}
    )
{%- endmacro %}

{#- flow_waiting_time_by_status: the team periods (team, grain, period_start) an incremental run rewrites: those
    of the days whose completed items changed since the last run (minus the lookback), that is the days of
    int_flow_waits_daily holding an item updated since (their newest update, on the totals row) and the days
    an item left (flowmart_wait_days_left). New periods and periods left without any completed item are
    among them. -#}
{% macro flowmart_team_periods_to_rewrite(relation) -%}
    {%- set watermark = flowmart_superseded_watermark(relation, 'last_item_updated_at') -%}
    with

    changed_days as (
        select team, completed_date
        from {{ ref('int_flow_waits_daily') }}
        where status_name is null and completions_updated_through > {{ watermark }}

        union

        {{ flowmart_wait_days_left(watermark) }}
    )

    select distinct
        changed_days.team,
        grains.grain,
        {{ flowmart_period_start('grains.grain', 'changed_days.completed_date') }} as period_start
    from changed_days
    cross join ({{ flowmart_grains() }}) as grains
{%- endmacro %}

{#- Pre-hook of flow_waiting_time_by_status: in an incremental run, delete the stored rows of the team periods
    it rewrites, so that a period left without rows loses its old ones. -#}
{% macro flowmart_delete_team_periods_to_rewrite(relation) -%}
    {%- call flowmart_in_incremental_runs() -%}
        delete from {{ relation }}
        where (team, grain, period_start) in (
            select team, grain, period_start from ({{ flowmart_team_periods_to_rewrite(relation) }}) as rewritten
        )
    {%- endcall -%}
{%- endmacro %}
