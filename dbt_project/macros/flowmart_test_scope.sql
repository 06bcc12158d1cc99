{#- Test scope of the daily runs. Every generic data test has `where: "__changed__"` (dbt_project.yml). It
    takes effect on the big models that name, in `meta: {flowmart_changed_columns: [...]}`, the instant of
    an item's last update (or of a change), or the day a row is about. With var flowmart_test_scope (else
    env FLOWMART_TEST_SCOPE) = 'changed' and no --full-refresh, such a test reads only the rows where one
    of those columns lies within var flowmart_test_window_days (default 7) of its newest value: the rows a
    daily incremental run rewrote (the items updated within flow_lookback_days of the last run), with
    room for a few skipped runs. Otherwise ('all', the default; any full refresh) tests read every row.
    The daily runs set 'changed' once the warehouse is built; the weekly run tests everything. Singular
    tests use flowmart_changed_rows() the same way.
    The Jira staging views name the instant their rows were loaded instead
    (`meta: {flowmart_changed_load_column: loaded_at}`): their tests read the rows written by the loads of
    the window. The loader replaces an issue with its changelog, labels and components whenever it loads
    the issue, so those are every row of the issues loaded lately; the bound is a constant, so DuckDB
    skips the row groups of older loads (the changelog is the biggest raw table). -#}

{#- dbt's hook for the `where` config of generic tests: the __changed__ placeholder becomes the test window
    of the tested model (all rows when it names no flowmart_changed_columns); any other `where` works as in
    dbt. -#}
{% macro get_where_subquery(relation) -%}
    {%- if config.get('where', '') == '__changed__' -%}
        {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
        {%- set meta = tested.config.meta if tested else {} -%}
        {%- if meta.get('flowmart_changed_load_column') -%}
            {%- set clock = meta.get('flowmart_load_clock') -%}
            {%- do return(flowmart_changed_load_rows(relation, meta['flowmart_changed_load_column'],
                                                     source(clock[0], clock[1]) if clock else none)
                          ~ ' as dbt_subquery') -%}
        {%- endif -%}
        {%- set columns = meta.get('flowmart_changed_columns') -%}
        {%- do return(flowmart_changed_rows(relation, columns) ~ ' as dbt_subquery' if columns else relation) -%}
    {%- endif -%}
    {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
{%- endmacro %}

{#- True when the tests of this invocation read only the changed rows. -#}
{% macro flowmart_tests_changed_rows_only() -%}
    {{ return(var('flowmart_test_scope', env_var('FLOWMART_TEST_SCOPE', 'all')) == 'changed'
              and not flags.FULL_REFRESH) }}
{%- endmacro %}

{#- `relation` for a test: every row, or (see above) a subquery of the rows where one of `columns` (a name or
    a list of names) lies within the test window of its newest value. In a run the bounds are computed first
    (one query) and written as constants (flowmart_constants): DuckDB skips the row groups below them,
    PostgreSQL estimates the rows from its statistics and reads them through an index (on a subquery bound it
    assumed a third of the table and hashed the whole of the tables joined to it). Give it an alias. -#}
{% macro flowmart_changed_rows(relation, columns) -%}
    {%- set columns = [columns] if columns is string else columns -%}
    {%- if flowmart_tests_changed_rows_only() -%}
        {%- set bounds = [] -%}
        {%- for column in columns -%}
            {%- do bounds.append('cast(' ~ dbt.dateadd('day', -1 * var('flowmart_test_window_days', 7), 'max(' ~ column ~ ')')
                                 ~ ' as ' ~ dbt.type_timestamp() ~ ')') -%}
        {%- endfor -%}
        {%- set bounds = flowmart_constants(relation, bounds) -%}
        (select * from {{ relation }} where
        {%- for column in columns %}
            {{ 'or ' if not loop.first }}{{ column }} >= {{ bounds[loop.index0] }}
        {%- endfor %}
        )
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}


{#- `relation` for a test: every row, or (see above) a subquery of the rows whose load instant (`load_column`)
    lies within the test window of the newest one. The bound is computed first and written as a constant,
    which DuckDB compares with each row group's min/max to skip the older ones. Rows landed before the
    loader kept the column have none; while no row has one, every row is read. The newest load instant
    is read from `clock` when given (meta flowmart_load_clock: the view's raw table, which has the same
    load instants and is one column scan away, where the view may deduplicate or join). Give it an
    alias. -#}
{% macro flowmart_changed_load_rows(relation, load_column, clock=none) -%}
    {%- set since = none -%}
    {%- if flowmart_tests_changed_rows_only() and execute -%}
        {%- set bound -%}
            select cast({{ dbt.dateadd('day', -1 * var('flowmart_test_window_days', 7), 'max(' ~ load_column ~ ')') }}
                        as {{ dbt.type_timestamp() }})
            from {{ clock or relation }}
        {%- endset -%}
        {%- set since = run_query(bound).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if since is not none -%}
        (select * from {{ relation }}
         where {{ load_column }} >= {{ flowmart_timestamp_literal(since) }})
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
