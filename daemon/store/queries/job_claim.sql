-- $1 worker_id, $2 how many at most, $3 lease in milliseconds.
-- The oldest PENDING jobs, PENDING -> RUNNING with started_at, the lease and the transition row, in one
-- statement. SKIP LOCKED: several daemons claim side by side and each job goes to exactly one.
WITH picked AS (
    SELECT job_id
      FROM governance_jobs
     WHERE status = 'PENDING'
     ORDER BY created_at, job_id
     LIMIT $2::int
       FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE governance_jobs j
       SET status = 'RUNNING', started_at = now() AT TIME ZONE 'UTC', claimed_by = $1,
           lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => $3::bigint / 1000.0),
           total_steps = CASE WHEN jsonb_typeof(j.steps) = 'array' THEN jsonb_array_length(j.steps) ELSE 0 END,
           -- the first step starts with the claim (one commit less per job); a malformed list keeps its value
           current_step_index = coalesce((
               SELECT min((e ->> 'step_index')::numeric)::int
                 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(j.steps) = 'array' THEN j.steps ELSE '[]' END) e
               HAVING bool_and(jsonb_typeof(e -> 'step_index') = 'number'
                               AND (e ->> 'step_index')::numeric BETWEEN 0 AND 2147483647
                               AND (e ->> 'step_index')::numeric = trunc((e ->> 'step_index')::numeric))),
               j.current_step_index)
      FROM picked
     WHERE j.job_id = picked.job_id
    RETURNING j.job_id, j.contract_id, j.steps, j.timeout_at, j.started_at, j.created_at, j.current_step_index
), transitions AS (
    INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                            transitioned_at)
    SELECT job_id, 'PENDING', 'RUNNING', NULL, 'claimed by ' || $1, $1, started_at FROM claimed
)
SELECT job_id::text, contract_id::text, steps::text, timeout_at, started_at, current_step_index
  FROM claimed
 ORDER BY created_at, job_id
