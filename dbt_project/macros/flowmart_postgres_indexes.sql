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

{#- On-run-start: the raw tables the loaders land (dlt creates no index) get the indexes their source YAML
    names in meta `flowmart_postgres_indexes` (lists of columns), on PostgreSQL; `if not exists`, so only the
    first run after a table was created builds them, and the loads keep them up to date. -#}
{% macro flowmart_index_sources() -%}
    {%- if execute and target.type == 'postgres' -%}
        {%- set present = {} -%}
        {%- for row in run_query("select lower(table_schema) || '.' || lower(table_name) from information_schema.tables") -%}
            {%- do present.update({row[0]: true}) -%}
        {%- endfor -%}
        {%- for node in graph.sources.values() if node.meta.get('flowmart_postgres_indexes')
                and (node.schema | lower ~ '.' ~ node.identifier | lower) in present -%}
            {%- set relation = api.Relation.create(database=node.database, schema=node.schema,
                                                  identifier=node.identifier) -%}
            {%- for columns in node.meta['flowmart_postgres_indexes'] -%}
                {%- do run_query('create index if not exists ' ~ adapter.quote(node.identifier ~ '__' ~ columns | join('__'))
                                 ~ ' on ' ~ relation ~ ' (' ~ columns | map('string') | map('trim') | join(', ') ~ ')') -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
