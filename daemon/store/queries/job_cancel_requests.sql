-- $1 worker_id: cancel requests on the RUNNING jobs it owns.
SELECT job_id::text, coalesce(cancel_requested_by, 'unknown'), coalesce(cancel_reason, '')
  FROM governance_jobs
 WHERE status = 'RUNNING' AND claimed_by = $1 AND cancel_requested_at IS NOT NULL
