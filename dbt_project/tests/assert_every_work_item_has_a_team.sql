-- Every work item and incident should be owned by a team through the ownership rules; items that no
-- rule matches are left out of team and value-stream metrics, so they are reported (warning).
{{ config(severity='warn') }}

select issue_id, issue_key, project_key
from {{ ref('int_work_items_owned') }}
where team is null and item_role in ('work_item', 'incident')
