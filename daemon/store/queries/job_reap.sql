-- $1 job_id, $2 reaper id, $3 StepResults to append (jsonb array), $4 status_reason, $5 step_index of the
-- step in flight or NULL, $6 execution_evidence (the whole of it: the creator's format), $7 FAILED, or
-- CANCELLED when a cancel was requested. RUNNING -> $7 with its transition; its target holds are freed, and
-- a job left PENDING for one is NOTIFYed (migration 0013).
WITH reaped AS (
    UPDATE governance_jobs j
       SET status = $7::varchar(20), status_reason = $4, completed_at = now() AT TIME ZONE 'UTC',
           step_results = coalesce(j.step_results, '[]'::jsonb) || $3::jsonb,
           execution_evidence = $6::jsonb
     -- by its key: as `status = 'RUNNING'` the generic plan read the RUNNING index whole, the key a filter
     WHERE j.job_id = $1::uuid AND coalesce(j.status = 'RUNNING', false)
    RETURNING j.job_id, j.completed_at
), released AS (
    DELETE FROM target_holds h USING reaped WHERE h.job_id = reaped.job_id
    RETURNING h.waiting_job
)
INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                        transitioned_at)
SELECT job_id, 'RUNNING', $7::varchar(20), $5::int, $4, $2, completed_at FROM reaped
 CROSS JOIN (SELECT count(pg_notify('govjobd_jobs', waiting_job::text)) FROM released WHERE waiting_job IS NOT NULL) woken
