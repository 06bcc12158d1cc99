{{ config(severity='warn') }}
-- Completed work items should have an owning team: items that no ownership rule of the org config
-- matches are left out of the flow marts, so a warning here means the ownership rules miss work.
select issue_id, issue_key, project_key
from {{ ref('int_work_items_measured') }}
where item_role in {{ flowmart_flow_item_roles() }} and is_completed and team is null
