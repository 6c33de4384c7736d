-- $1 job_id. Every column of the job (the creating system's and ours) plus its transitions in order.
SELECT (to_jsonb(j) || jsonb_build_object('transitions', (
            SELECT coalesce(jsonb_agg(to_jsonb(t) - 'transition_id' ORDER BY t.transition_id), '[]'::jsonb)
              FROM governance_job_transitions t
             WHERE t.job_id = j.job_id)))::text
  FROM governance_jobs j
 WHERE j.job_id = $1::uuid
