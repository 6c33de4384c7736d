-- $1 job_id, $2 worker_id, $3 terminal status, $4 status_reason: whether this very end is already recorded
-- (a write retried after its commit was lost finds its own work done).
SELECT count(*) FROM governance_jobs
 WHERE job_id = $1::uuid AND claimed_by = $2 AND status = $3 AND status_reason IS NOT DISTINCT FROM $4
