-- $1 status or NULL for all, $2 limit. Newest first.
SELECT job_id::text, contract_id::text, status, status_reason, current_step_index, total_steps,
       created_at, started_at, completed_at, timeout_at, created_by
  FROM governance_jobs
 WHERE ($1::text IS NULL OR status = $1::text)
 ORDER BY created_at DESC, job_id
 LIMIT $2::int
