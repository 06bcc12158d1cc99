-- Every tracker status should be in the org config's status mapping. A status that is not falls back
-- to its Jira status category (new -> backlog, indeterminate -> active, done -> done); this warning
-- lists them so the mapping can be completed.
{{ config(severity='warn') }}

select project_key, status_id, status_name, status_category, flow_state as fallback_flow_state
from {{ ref('int_statuses_mapped') }}
where not is_mapped
