-- $1 worker_id, $2 how many at most, $3 lease in milliseconds, $4 the largest steps (as JSON text, in bytes)
-- that leaves the database: a larger list is claimed without being fetched, and its job is failed;
-- $5 job_ids never to claim (uuid[]: rows a claim already failed on), $6 claim only this job (NULL: any);
-- $7, $8 the most affected capabilities of a contract read, in entries and in bytes as text.
-- Nothing in a row may make this statement fail: every value of steps is read by type first (issue 14).
-- The oldest PENDING jobs, PENDING -> RUNNING with started_at, the lease and the transition row, in one
-- statement. SKIP LOCKED: several daemons claim side by side and each job goes to exactly one.
-- The contract gate (contract.*, docs/contract.md): `contracts` is the creating system's contracts table,
-- read and never written; the store puts in its names, quoted. With the gate off it is an empty relation
-- and no table is read. A job whose contract is ACTIVE and whose activation window opens later stays
-- PENDING (a scheduled start); every other job is claimed with what its contract row held, bounded.
WITH contracts AS NOT MATERIALIZED (
    SELECT @contract.id@ AS id, left(@contract.status@::text, 100) AS status,
           CASE WHEN cardinality(@contract.affected_capabilities@) <= $7::bigint
                 AND octet_length(@contract.affected_capabilities@::text) <= $8::bigint
                THEN to_jsonb(ARRAY(SELECT unnest(@contract.affected_capabilities@::text[])))::text END AS capabilities,
           cardinality(@contract.affected_capabilities@)::bigint AS capabilities_count,
           @contract.window_start@::timestamp AS window_start, @contract.window_end@::timestamp AS window_end
      FROM @contract_table@
), picked AS (
    SELECT j.job_id, k.found, k.status, k.capabilities, k.capabilities_count, k.window_start, k.window_end
      FROM governance_jobs j
      LEFT JOIN LATERAL (SELECT true AS found, c.* FROM contracts c WHERE c.id = j.contract_id LIMIT 1) k ON true
     WHERE j.status = 'PENDING' AND j.job_id <> ALL ($5::uuid[]) AND ($6::uuid IS NULL OR j.job_id = $6::uuid)
       AND NOT coalesce(k.status = 'ACTIVE' AND k.window_start > now() AT TIME ZONE 'UTC', false)
     ORDER BY j.created_at, j.job_id
     LIMIT $2::int
       FOR UPDATE OF j SKIP LOCKED
), held AS (
    -- when the claim found fewer jobs than asked: the earliest window opening of the jobs left PENDING for it
    -- (@contract_enabled@: the planner drops this scan of the queue when the gate is off)
    SELECT min(k.window_start) AS opens
      FROM governance_jobs j
      JOIN LATERAL (SELECT c.status, c.window_start FROM contracts c WHERE c.id = j.contract_id LIMIT 1) k ON true
     WHERE @contract_enabled@ AND j.status = 'PENDING' AND k.status = 'ACTIVE' AND k.window_start > now() AT TIME ZONE 'UTC'
       AND (SELECT count(*) FROM picked) < $2::int
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
-- the claimed jobs, then one row without a job when jobs were left PENDING for their window: in how many
-- seconds the first of those windows opens
(SELECT c.job_id::text, c.contract_id::text, CASE WHEN size.bytes <= $4::bigint THEN size.text END, c.timeout_at,
        c.started_at, c.current_step_index, size.bytes, coalesce(p.found, false), p.status, p.capabilities,
        p.capabilities_count, p.window_start, p.window_end, NULL::float8 AS window_opens_in
   FROM claimed c
   JOIN picked p ON p.job_id = c.job_id
  CROSS JOIN LATERAL (SELECT t AS text, octet_length(t)::bigint AS bytes FROM (SELECT c.steps::text AS t) s) size
  ORDER BY c.created_at, c.job_id)
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       extract(epoch FROM h.opens - now() AT TIME ZONE 'UTC')::float8
  FROM held h
 WHERE h.opens IS NOT NULL
