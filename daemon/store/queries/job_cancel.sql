-- $1 job_id, $2 requested by, $3 reason. Through govjobd.job_cancel (migrations/0009_roles.sql), the one way
-- every role cancels: CANCELLED, REQUESTED, or why nothing was done.
SELECT govjobd.job_cancel($1::uuid, $2, $3)
