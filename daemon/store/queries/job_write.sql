-- One fenced write of a RUNNING job by its worker: $1 job_id, $2 worker_id, $3 current_step_index or NULL,
-- $4 StepResults to append (jsonb array; one already recorded for the same step_index is not appended
-- again, so a write retried after a lost commit is harmless), $5 health_snapshot_before or NULL,
-- $6 health_snapshot_after or NULL, $7 terminal status or NULL, $8 status_reason or NULL,
-- $9 execution_evidence or NULL, $10 the transition's step_index or NULL.
-- No row back: the job is no longer RUNNING or no longer ours (cancelled, reaped); nothing was written.
WITH written AS (
    UPDATE governance_jobs j
       SET current_step_index = coalesce($3::int, j.current_step_index),
           step_results = coalesce(j.step_results, '[]'::jsonb) || coalesce((
               SELECT jsonb_agg(r ORDER BY (r ->> 'step_index')::int)
                 FROM jsonb_array_elements($4::jsonb) r
                WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(j.step_results, '[]'::jsonb)) e
                                   WHERE e -> 'step_index' = r -> 'step_index')), '[]'::jsonb),
           health_snapshot_before = coalesce($5::jsonb, j.health_snapshot_before),
           health_snapshot_after = coalesce($6::jsonb, j.health_snapshot_after),
           status = coalesce($7::varchar, j.status),
           status_reason = coalesce($8::text, j.status_reason),
           execution_evidence = coalesce($9::jsonb, j.execution_evidence),
           completed_at = CASE WHEN $7::varchar IS NULL THEN j.completed_at ELSE now() AT TIME ZONE 'UTC' END
     WHERE j.job_id = $1::uuid AND j.status = 'RUNNING' AND j.claimed_by = $2
    RETURNING j.job_id, j.completed_at
), transition AS (
    INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                            transitioned_at)
    SELECT job_id, 'RUNNING', $7::varchar, $10::int, $8::text, $2, completed_at FROM written WHERE $7::varchar IS NOT NULL
)
SELECT count(*) FROM written
