-- $1 after this transition_id, $2 job_id or NULL for every job, $3 limit. Oldest first (`jobs watch`).
SELECT transition_id, job_id::text, from_status, to_status, step_index, reason, transitioned_by, transitioned_at
  FROM governance_job_transitions
 WHERE transition_id > $1::bigint AND ($2::uuid IS NULL OR job_id = $2::uuid)
 ORDER BY transition_id
 LIMIT $3::int
