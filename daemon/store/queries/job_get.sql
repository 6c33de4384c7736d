-- $1 job_id, $2 the largest value shown (bytes of JSON text, worker.max_job_bytes). Every column of the job
-- (the creating system's and ours) plus its transitions in order. A column's value larger than $2 (a writer's
-- row may hold up to a gigabyte in each) is shown as a note of its size instead, so that what an operator's
-- command reads and prints stays bounded.
-- A value nested deeper than 100 levels (the daemon's own bound) shows as a note too: a program reading it
-- whole would recurse as deep (14,000 levels crashed the command built with the sanitizers). So does one
-- holding a number past 1e300 or within 1e-300 of 0, before anything writes it out (migration 22).
SELECT ((SELECT jsonb_object_agg(e.key, CASE WHEN govjobd.json_unwritable(e.value, 100)
                                             THEN to_jsonb('(not shown: nested deeper than 100 levels or holds a number past 1e300 or within 1e-300 of 0)'::text)
                                             WHEN octet_length(e.value::text) > $2::bigint
                                             THEN to_jsonb(format('(not shown: %s bytes of JSON, more than worker.max_job_bytes)',
                                                                  octet_length(e.value::text)))
                                             ELSE e.value END)
           FROM jsonb_each(to_jsonb(j)) e)
        || jsonb_build_object('transitions', (
            SELECT coalesce(jsonb_agg(to_jsonb(t) - 'transition_id' ORDER BY t.transition_id), '[]'::jsonb)
              FROM governance_job_transitions t
             WHERE t.job_id = j.job_id)))::text
  FROM governance_jobs j
 WHERE j.job_id = $1::uuid
