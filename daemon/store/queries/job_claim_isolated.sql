-- $1 job_id, $2 worker_id, $3 lease in milliseconds.
-- Claims one PENDING job whose claim statement failed on its data, reading nothing of its steps: the job
-- is then failed by its worker with the database's message, the way every unrunnable job ends.
WITH claimed AS (
    UPDATE governance_jobs
       SET status = 'RUNNING', started_at = now() AT TIME ZONE 'UTC', claimed_by = $2,
           lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => $3::bigint / 1000.0),
           -- the daemon's from here on, as job_claim.sql's (what a writer left there is not read: the job fails
           -- for the claim's error)
           step_results = '[]'::jsonb, execution_evidence = NULL, health_snapshot_after = NULL, window_opens_at = NULL
     WHERE job_id = $1::uuid AND status = 'PENDING'
    RETURNING job_id, contract_id, timeout_at, started_at, created_at
), transitions AS (
    INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                            transitioned_at)
    SELECT job_id, 'PENDING', 'RUNNING', NULL, 'claimed by ' || $2 || ' (isolated: the claim failed on this row)', $2,
           started_at
      FROM claimed
)
-- the last column: the metrics' pickup (job_claim.sql says how)
SELECT job_id::text, contract_id::text, timeout_at, started_at,
       CASE WHEN isfinite(created_at) THEN extract(epoch FROM started_at - created_at)::float8 END
  FROM claimed
