-- $1 worker_id: cancel requests on the RUNNING jobs it owns (govjobd.job_cancel records them; their texts are
-- bounded there, and again here).
SELECT r.job_id::text, left(r.requested_by, 100), left(r.reason, 1000)
  FROM cancel_requests r
  JOIN governance_jobs j ON j.job_id = r.job_id
 WHERE j.status = 'RUNNING' AND j.claimed_by = $1
