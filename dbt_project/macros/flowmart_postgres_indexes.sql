{#- Indexes on PostgreSQL. DuckDB needs none: it skips the row groups a filter rules out (min/max per column),
    and the tables are stored in the order of the loads and updates the daily runs filter on. PostgreSQL
    reads a whole table for the same filter unless an index serves it, so on PostgreSQL the big incremental
    models index the columns a daily run looks them up by: the key its delete+insert deletes by, and the
    column of its watermark (max() and the range after it). -#}

{#- For a model's config: `indexes=flowmart_postgres_indexes([['issue_id'], ['item_updated_at']])`, the
    indexes dbt creates when it builds the table in full (kept by incremental runs); none on other adapters. -#}
{% macro flowmart_postgres_indexes(column_lists) -%}
    {%- set indexes = [] -%}
    {%- if target.type == 'postgres' -%}
        {%- for columns in column_lists -%}
            {%- do indexes.append({'columns': columns}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(indexes) }}
{%- endmacro %}

{#- A raw table the loaders land (dlt creates no index), on PostgreSQL: the indexes its source YAML names in meta
    `flowmart_postgres_indexes` (lists of columns). Called by the on-run-start hook flowmart_create_missing_sources
    once the table exists; `if not exists`, so only the first run after a table was created builds them, and
    the loads keep them up to date. -#}
{% macro flowmart_index_source(node, relation) -%}
    {%- if target.type == 'postgres' -%}
        {%- for columns in node.meta.get('flowmart_postgres_indexes', []) -%}
            {%- do run_query('create index if not exists ' ~ adapter.quote(node.identifier ~ '__' ~ columns | join('__'))
                             ~ ' on ' ~ relation ~ ' (' ~ columns | join(', ') ~ ')') -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
