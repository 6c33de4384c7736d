-- $1 job_id, $2 status_reason, $3 requested by, $4 reason as given.
-- PENDING -> CANCELLED with its transition, in one statement; no row when the job is not PENDING.
WITH cancelled AS (
    UPDATE governance_jobs
       SET status = 'CANCELLED', status_reason = $2, completed_at = now() AT TIME ZONE 'UTC',
           cancel_requested_at = now() AT TIME ZONE 'UTC', cancel_requested_by = $3, cancel_reason = $4
     WHERE job_id = $1::uuid AND status = 'PENDING'
    RETURNING job_id, completed_at
)
INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                        transitioned_at)
SELECT job_id, 'PENDING', 'CANCELLED', NULL, $2, $3, completed_at FROM cancelled
RETURNING job_id::text
