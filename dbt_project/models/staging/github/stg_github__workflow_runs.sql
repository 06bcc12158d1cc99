-- GitHub Actions runs of the deployment workflow(s). The raw table exists only when the org config sets
-- `github.deployment_workflow_pattern`; without it this model is empty (documented exception: a
-- relation check instead of a hard dependency on an optional table).
{%- set raw = source('github', 'workflow_runs') %}
{%- set exists = adapter.get_relation(database=raw.database, schema=raw.schema, identifier=raw.identifier) %}
with

source as (
    {% if exists is not none or not execute -%}
    select * from {{ raw }}
    {%- else -%}
    select
        cast(null as bigint) as run_id,
        cast(null as {{ dbt.type_string() }}) as repository,
        cast(null as {{ dbt.type_string() }}) as workflow_name,
        cast(null as bigint) as workflow_id,
        cast(null as {{ dbt.type_string() }}) as workflow_path,
        cast(null as {{ dbt.type_string() }}) as head_branch,
        cast(null as {{ dbt.type_string() }}) as head_sha,
        cast(null as {{ dbt.type_string() }}) as event,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ dbt.type_string() }}) as conclusion,
        cast(null as bigint) as run_attempt,
        cast(null as {{ flowmart_timestamptz() }}) as created_at,
        cast(null as {{ flowmart_timestamptz() }}) as updated_at,
        cast(null as {{ flowmart_timestamptz() }}) as run_started_at,
        cast(null as {{ dbt.type_string() }}) as actor_id,
        cast(null as boolean) as actor_is_bot,
        cast(null as {{ dbt.type_string() }}) as actor_bot_name
    where 1 = 0
    {%- endif %}
),

renamed as (
    select
        ----------  ids
        run_id,
        repository,
        workflow_id,
        head_sha,
        actor_id,
        ----------  properties
        workflow_name,
        workflow_path,
        head_branch,
        event,
        status as run_status,
        conclusion,
        cast(run_attempt as integer) as run_attempt,
        coalesce(actor_is_bot, false) as actor_is_bot,
        actor_bot_name,
        ----------  timestamps
        {{ flowmart_utc('run_started_at') }} as started_at,
        {{ flowmart_utc('created_at') }} as created_at,
        {{ flowmart_utc('updated_at') }} as updated_at
    from source
)

select * from renamed
