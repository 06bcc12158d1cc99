-- question: Which items of a team have been in progress for a long time, and in which status are they?
-- table: marts.aging_work_in_progress
-- filters: none (the work in progress now); one team per page
-- units: days (age since the work started); the team's flow-time p85 is the line to compare with
select value_stream, team, issue_key, flow_item_type, current_status_name, age_days, team_flow_time_p85_days,
       is_older_than_team_p85
from marts.aging_work_in_progress
order by value_stream, team, age_days desc
