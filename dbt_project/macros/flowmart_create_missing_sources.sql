{#- Runs before every dbt build (on-run-start). A source that is not configured (no GitHub, no surveys...)
    has never been loaded, so its raw tables do not exist; they are created empty from the columns the
    source YAML declares, and the models downstream build with zero rows instead of failing.
    A source table without declared columns is left alone. -#}
{% macro flowmart_create_missing_sources() %}
    {% if execute %}
        {% for node in graph.sources.values() %}
            {% set columns = node.columns.values() | selectattr('data_type') | list %}
            {% if columns %}
                {% set existing = adapter.get_relation(database=node.database, schema=node.schema,
                                                       identifier=node.identifier) %}
                {% if existing is none %}
                    {% do log('flowmart: source ' ~ node.source_name ~ '.' ~ node.name
                              ~ ' has not been loaded; creating it empty', info=true) %}
                    {% set relation = api.Relation.create(database=node.database, schema=node.schema,
                                                          identifier=node.identifier) %}
                    {% do adapter.create_schema(relation) %}
                    {% set column_sql %}
                        {%- for column in columns -%}
                            {{ adapter.quote(column.name) }} {{ column.data_type }}{{ ', ' if not loop.last }}
                        {%- endfor -%}
                    {% endset %}
                    {% do run_query('create table if not exists ' ~ relation ~ ' (' ~ column_sql ~ ')') %}
                {% endif %}
            {% endif %}
        {% endfor %}
    {% endif %}
{% endmacro %}
