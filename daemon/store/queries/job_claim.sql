-- $1 worker_id, $2 how many at most, $3 lease in milliseconds, $4 the largest steps (as JSON text, in bytes)
-- that leaves the database: a larger list is claimed without being fetched, and its job is failed;
-- $5 job_ids never to claim (uuid[]: rows a claim already failed on), $6 claim only this job (NULL: any).
-- Nothing in a row may make this statement fail: every value of steps is read by type first (issue 14).
-- The oldest PENDING jobs, PENDING -> RUNNING with started_at, the lease and the transition row, in one
-- statement. SKIP LOCKED: several daemons claim side by side and each job goes to exactly one.
WITH picked AS (
    SELECT job_id
      FROM governance_jobs
     WHERE status = 'PENDING' AND job_id <> ALL ($5::uuid[]) AND ($6::uuid IS NULL OR job_id = $6::uuid)
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
               SELECT CASE WHEN bool_and(n IS NOT NULL AND n BETWEEN 0 AND 2147483647 AND n = trunc(n))
                           THEN min(n)::int END
                 FROM (SELECT CASE WHEN jsonb_typeof(e -> 'step_index') = 'number'
                                   THEN (e ->> 'step_index')::numeric END AS n
                         FROM jsonb_array_elements(CASE WHEN jsonb_typeof(j.steps) = 'array'
                                                             AND jsonb_array_length(j.steps) <= 1000  -- the parser's limit
                                                        THEN j.steps ELSE '[]' END) e) indexes),
               j.current_step_index)
      FROM picked
     WHERE j.job_id = picked.job_id
    RETURNING j.job_id, j.contract_id, j.steps, j.timeout_at, j.started_at, j.created_at, j.current_step_index
), transitions AS (
    INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                            transitioned_at)
    SELECT job_id, 'PENDING', 'RUNNING', NULL, 'claimed by ' || $1, $1, started_at FROM claimed
)
SELECT c.job_id::text, c.contract_id::text, CASE WHEN size.bytes <= $4::bigint THEN size.text END, c.timeout_at,
       c.started_at, c.current_step_index, size.bytes
  FROM claimed c
 CROSS JOIN LATERAL (SELECT t AS text, octet_length(t)::bigint AS bytes FROM (SELECT c.steps::text AS t) s) size
 ORDER BY c.created_at, c.job_id
