-- $1 contract_id, $2 steps (jsonb), $3 timeout in minutes, $4 created_by, $5 reason.
-- The job and its first transition in one statement.
WITH job AS (
    INSERT INTO governance_jobs (job_id, contract_id, status, steps, current_step_index, total_steps,
                                 step_results, created_at, timeout_at, created_by)
    VALUES (gen_random_uuid(), $1::uuid, 'PENDING', $2::jsonb, 0, jsonb_array_length($2::jsonb), '[]'::jsonb,
            now() AT TIME ZONE 'UTC', (now() AT TIME ZONE 'UTC') + make_interval(mins => $3::int), $4)
    RETURNING job_id, created_at, created_by
)
INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                        transitioned_at)
SELECT job_id, NULL, 'PENDING', NULL, $5, created_by, created_at FROM job
RETURNING job_id::text
