-- $1 how many at most. RUNNING jobs whose lease ran out (their worker stopped heartbeating), locked for
-- this reaper; another reaper running at the same time skips them.
SELECT j.job_id::text, coalesce(j.claimed_by, 'unknown'), j.steps::text, coalesce(j.step_results, '[]'::jsonb)::text,
       j.current_step_index, w.heartbeat_at, j.lease_expires_at
  FROM governance_jobs j
  LEFT JOIN govjobd_workers w ON w.worker_id = j.claimed_by
 WHERE j.status = 'RUNNING' AND j.lease_expires_at < now() AT TIME ZONE 'UTC'
 ORDER BY j.lease_expires_at
 LIMIT $1::int
   FOR UPDATE OF j SKIP LOCKED
