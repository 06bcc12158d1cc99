-- Every step configured in value_streams[].steps names a status of the tracker (its catalogue or its
-- history, matched without case); a failing row names the value stream and the unknown status.
select
    value_stream,
    step_position,
    step_status,
    validation_error

from {{ ref('int_value_stream_steps_ordered') }}

where validation_error is not null
