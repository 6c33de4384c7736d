-- Fenced writes of RUNNING jobs by their worker, any number in one statement: $1 worker_id, $2 a jsonb array
-- of writes, each {job_id, current_step_index, append_results (jsonb array of StepResults; one already
-- recorded for the same step_index is not appended again, so a write retried after a lost commit is
-- harmless), health_before, health_after, terminal_status, status_reason, evidence, transition_step_index};
-- a missing or null field leaves its column as it is. A job_id appears at most once per call.
-- Returns (job_id, 'applied') for the job_ids written and for those of terminal writes whose very end is
-- already recorded (a write retried after its commit was lost finds its own work done), and (job_id,
-- 'locked') for a job still RUNNING under $1 whose row another session holds locked (the creating system's
-- open transaction): nothing was written for it and the others did not wait for it (SKIP LOCKED), it is
-- written again later. A job not returned is no longer RUNNING or no longer ours (cancelled, reaped): nothing
-- was written for it. A terminal write also inserts its transition row and releases the
-- job's target holds (worker.exclusive_targets), NOTIFYing a job left PENDING for one (migration 0013).
WITH w AS (
    SELECT *
      FROM jsonb_to_recordset($2::jsonb) AS x(job_id uuid, current_step_index int, append_results jsonb,
                                              health_before jsonb, health_after jsonb, terminal_status varchar(20),
                                              status_reason text, evidence jsonb, transition_step_index int)
), mine AS (
    -- each row by its key (LATERAL: whatever w's estimate, never a scan of the table)
    SELECT l.job_id
      FROM w, LATERAL (SELECT j.job_id FROM governance_jobs j WHERE j.job_id = w.job_id FOR NO KEY UPDATE SKIP LOCKED) l
), written AS (
    UPDATE governance_jobs j
       SET current_step_index = coalesce(w.current_step_index, j.current_step_index),
           -- one result (a step's, or the last step's with the end): appended unless its step_index is
           -- recorded, one containment test (the same equality as below, 5 = 5.0); otherwise each result not
           -- yet recorded, in step order (a subquery per row: 15 to 25 % of a batch of 50 when it ran for all)
           step_results = CASE
               WHEN jsonb_typeof(w.append_results) = 'array' AND jsonb_array_length(w.append_results) = 1
                AND jsonb_typeof(w.append_results -> 0 -> 'step_index') = 'number'
                AND (j.step_results IS NULL OR jsonb_typeof(j.step_results) = 'array')
                AND NOT coalesce(j.step_results @> jsonb_build_array(
                                     jsonb_build_object('step_index', w.append_results -> 0 -> 'step_index')), false)
               THEN coalesce(j.step_results, '[]'::jsonb) || w.append_results
               ELSE coalesce(j.step_results, '[]'::jsonb) || coalesce((
                   SELECT jsonb_agg(r ORDER BY (r ->> 'step_index')::int)
                     FROM jsonb_array_elements(coalesce(w.append_results, '[]'::jsonb)) r
                    WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(j.step_results, '[]'::jsonb)) e
                                       WHERE e -> 'step_index' = r -> 'step_index')), '[]'::jsonb) END,
           -- the creator's, when set, stays (JSON null is not a snapshot)
           health_snapshot_before = CASE WHEN govjobd.json_absent(j.health_snapshot_before) THEN w.health_before
                                         ELSE j.health_snapshot_before END,
           health_snapshot_after = coalesce(w.health_after, j.health_snapshot_after),
           status = coalesce(w.terminal_status, j.status),
           status_reason = coalesce(w.status_reason, j.status_reason),
           execution_evidence = coalesce(w.evidence, j.execution_evidence),
           completed_at = CASE WHEN w.terminal_status IS NULL THEN j.completed_at ELSE now() AT TIME ZONE 'UTC' END
      FROM w
     -- each row by its key, whatever the statistics: the locked keys as an array (an estimate of a few rows,
     -- where w's function scan counts 100) and the fence in a coalesce (no index matches it, as in
     -- job_reap.sql). As `status = 'RUNNING' AND ... IN (SELECT ...)` the planner read every RUNNING entry of
     -- the fleet into a hash join, dead entries included, for every write, or the whole table when its
     -- RUNNING index was large
     WHERE j.job_id = w.job_id AND j.job_id = ANY (ARRAY(SELECT job_id FROM mine))
       AND coalesce(j.status = 'RUNNING' AND j.claimed_by = $1, false)
    RETURNING j.job_id, j.completed_at, w.terminal_status, w.status_reason, w.transition_step_index
), transitions AS (
    INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                            transitioned_at)
    SELECT job_id, 'RUNNING', terminal_status, transition_step_index, status_reason, $1, completed_at
      FROM written
     WHERE terminal_status IS NOT NULL
), released AS (
    -- only once every job row of the batch is updated (the array is built first): a claim may hold a lock on
    -- one of them (a row it found claimed and ended since its snapshot stays locked by it), and a claim
    -- inserting a hold waits for a statement that deleted that hold. Deleting first, then waiting for such
    -- a row, was a deadlock (seen with 8 daemons and exclusive targets: 1 s each, then an abort).
    DELETE FROM target_holds h
     WHERE h.job_id = ANY (ARRAY(SELECT job_id FROM written WHERE terminal_status IS NOT NULL))
    RETURNING h.waiting_job
)
SELECT job_id::text, 'applied' FROM written
 CROSS JOIN (SELECT count(pg_notify('govjobd_jobs', waiting_job::text)) FROM released WHERE waiting_job IS NOT NULL) woken
UNION ALL
SELECT w.job_id::text, 'locked' FROM w,
       LATERAL (SELECT 1 FROM governance_jobs j
                 WHERE j.job_id = w.job_id AND coalesce(j.status = 'RUNNING' AND j.claimed_by = $1, false)
                OFFSET 0) running
 WHERE w.job_id NOT IN (SELECT job_id FROM mine)
UNION ALL
SELECT w.job_id::text, 'applied' FROM w,
       LATERAL (SELECT 1 FROM governance_jobs j
                 WHERE j.job_id = w.job_id AND j.claimed_by = $1 AND j.status = w.terminal_status
                   AND j.status_reason IS NOT DISTINCT FROM w.status_reason OFFSET 0) recorded
 WHERE w.terminal_status IS NOT NULL AND w.job_id NOT IN (SELECT job_id FROM written)
