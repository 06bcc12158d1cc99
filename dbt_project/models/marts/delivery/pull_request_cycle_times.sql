-- One row per merged pull request with its cycle-time breakdown; no person column.
with

pull_requests as (
    select * from {{ ref('int_pull_requests_measured') }}
)

select
    cast(pr_id as bigint) as pr_id,
    cast(repository as {{ flowmart_string() }}) as repository,
    cast(pr_number as integer) as pr_number,
    cast(service as {{ flowmart_string() }}) as service,
    cast(team as {{ flowmart_string() }}) as team,
    cast(value_stream as {{ flowmart_string() }}) as value_stream,
    cast(is_bot_authored as boolean) as is_bot_authored,
    cast(first_commit_at as {{ dbt.type_timestamp() }}) as first_commit_at,
    cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
    cast(first_review_at as {{ dbt.type_timestamp() }}) as first_review_at,
    cast(merged_at as {{ dbt.type_timestamp() }}) as merged_at,
    cast(deployed_at as {{ dbt.type_timestamp() }}) as deployed_at,
    cast(deployment_id as {{ flowmart_string() }}) as deployment_id,
    cast(is_deployed as boolean) as is_deployed,
    cast(coding_minutes as {{ flowmart_double() }}) as coding_minutes,
    cast(pickup_minutes as {{ flowmart_double() }}) as pickup_minutes,
    cast(review_minutes as {{ flowmart_double() }}) as review_minutes,
    cast(deploy_minutes as {{ flowmart_double() }}) as deploy_minutes,
    cast(change_lead_time_hours as {{ flowmart_double() }}) as change_lead_time_hours,
    cast(lines_changed as integer) as lines_changed,
    cast(changed_files as integer) as changed_files,
    cast(commit_count as integer) as commit_count,
    cast(review_count as integer) as review_count,
    cast(is_merged_without_review as boolean) as is_merged_without_review,
    cast(rework_commit_count as integer) as rework_commit_count,
    cast(has_ai_label as boolean) as has_ai_label,
    cast(has_ai_trailer as boolean) as has_ai_trailer,
    cast(is_ai_assisted as boolean) as is_ai_assisted
from pull_requests
