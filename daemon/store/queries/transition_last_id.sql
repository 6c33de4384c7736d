-- The newest transition's id, 0 when none: where `jobs watch` without a job starts.
SELECT coalesce(max(transition_id), 0) FROM governance_job_transitions
