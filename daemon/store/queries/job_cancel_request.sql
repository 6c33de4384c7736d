-- $1 job_id, $2 requested by, $3 reason. Records a cancel request on a RUNNING job; the owning daemon is
-- woken by the govjobd_cancel notification and ends the job. No row when not RUNNING or already requested.
UPDATE governance_jobs
   SET cancel_requested_at = now() AT TIME ZONE 'UTC', cancel_requested_by = $2, cancel_reason = $3
 WHERE job_id = $1::uuid AND status = 'RUNNING' AND cancel_requested_at IS NULL
RETURNING job_id::text
