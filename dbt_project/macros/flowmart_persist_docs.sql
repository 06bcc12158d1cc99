{#- dbt's persist_docs (the descriptions of a mart and its columns, as comments in the database for the BI
    tool), except where a daily run would only write them again: an incremental mart that still carries
    its description. Descriptions are code, and a daily run (FLOWMART_TEST_SCOPE=changed, set by flowmart
    and the Dagster job) runs on the code of the last build: a code change makes the next run a full
    refresh, which writes them all. A table built anew, or any other run, takes dbt's path. -#}
{% macro persist_docs(relation, model, for_relation=true, for_columns=true) -%}
    {%- if model.config.materialized == 'incremental' and flowmart_tests_changed_rows_only()
          and model.description and flowmart_relation_comment(relation) == model.description -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(adapter.dispatch('persist_docs', 'dbt')(relation, model, for_relation, for_columns)) }}
{%- endmacro %}
