{#- Runs before every dbt build (on-run-start). A source that is not configured (no GitHub, no surveys...)
    has never been loaded, so its raw tables do not exist; they are created empty from the columns the
    source YAML declares, and the models downstream build with zero rows instead of failing.
    A raw table that exists but lacks a declared column (landed by an older version of the loaders, such
    as the Jira tables before the loader stamped rows with `loaded_at`) gets the column, empty; dlt
    compares with the table's real columns, so its next load fills it without adding it again.
    A source table without declared columns is left alone. One catalogue query finds what exists. -#}
{% macro flowmart_create_missing_sources() %}
    {{ return(adapter.dispatch('flowmart_create_missing_sources')()) }}
{% endmacro %}

{% macro default__flowmart_create_missing_sources() %}
    {% if execute %}
        {% set sources = graph.sources.values() | list %}
        {% set schemas = sources | map(attribute='schema') | unique | list %}
        {% set existing_columns = {} %}
        {% set catalogue %}
            select lower(table_schema), lower(table_name), lower(column_name)
            from information_schema.columns
            where table_catalog = '{{ target.database }}'
              and lower(table_schema) in ('{{ schemas | map('lower') | join("', '") }}')
        {% endset %}
        {% for row in run_query(catalogue) %}
            {% do existing_columns.setdefault(row[0] ~ '.' ~ row[1], []).append(row[2]) %}
        {% endfor %}
        {% for node in sources %}
            {% set columns = node.columns.values() | selectattr('data_type') | list %}
            {% if columns %}
                {% set relation = api.Relation.create(database=node.database, schema=node.schema,
                                                      identifier=node.identifier) %}
                {% set present = existing_columns.get(node.schema | lower ~ '.' ~ node.identifier | lower) %}
                {% if present is none %}
                    {% do log('flowmart: source ' ~ node.source_name ~ '.' ~ node.name
                              ~ ' has not been loaded; creating it empty', info=true) %}
                    {% do adapter.create_schema(relation) %}
                    {% set column_sql %}
                        {%- for column in columns -%}
                            {{ adapter.quote(column.name) }} {{ column.data_type }}{{ ', ' if not loop.last }}
                        {%- endfor -%}
                    {% endset %}
                    {% do run_query('create table if not exists ' ~ relation ~ ' (' ~ column_sql ~ ')') %}
                {% else %}
                    {% for column in columns if column.name | lower not in present %}
                        {% do log('flowmart: source ' ~ node.source_name ~ '.' ~ node.name ~ ' gets column '
                                  ~ column.name ~ ' (empty until the next load)', info=true) %}
                        {% do run_query('alter table ' ~ relation ~ ' add column ' ~ adapter.quote(column.name)
                                        ~ ' ' ~ column.data_type) %}
                    {% endfor %}
                {% endif %}
            {% endif %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{#- Spark: the raw tables are Parquet folders in the lake (pipelines/lake.py), one per source table at
    <FLOWMART_LAKE_URL>/<schema>/<table>. Each build registers every declared source table as an external
    table over its folder with the declared columns (so a table's schema follows the YAML, and a source
    never loaded, whose folder is empty or missing, reads as an empty table). Dropping an external table
    leaves its files alone. -#}
{% macro spark__flowmart_create_missing_sources() %}
    {% if execute %}
        {% set lake = env_var('FLOWMART_LAKE_URL', '') %}
        {% if not lake %}
            {% do exceptions.raise_compiler_error('FLOWMART_LAKE_URL is not set: run dbt on Spark through flowmart '
                                                  ~ '(flowmart build --target spark), or set it to the lake') %}
        {% endif %}
        {% for schema in graph.sources.values() | map(attribute='schema') | unique %}
            {% do run_query('create schema if not exists ' ~ schema) %}
        {% endfor %}
        {% for node in graph.sources.values() %}
            {% set columns = node.columns.values() | selectattr('data_type') | list %}
            {% set relation = node.schema ~ '.' ~ node.identifier %}
            {% set column_sql %}
                {%- for column in columns -%}
                    {{ adapter.quote(column.name) }} {{ flowmart_source_type(column.data_type) }}{{ ', ' if not loop.last }}
                {%- endfor -%}
            {% endset %}
            {% do run_query('drop table if exists ' ~ relation) %}
            {% do run_query('create table ' ~ relation ~ ' (' ~ column_sql ~ ') using parquet location \''
                            ~ lake.rstrip('/') ~ '/' ~ node.schema ~ '/' ~ node.identifier ~ '\'') %}
        {% endfor %}
    {% endif %}
{% endmacro %}
