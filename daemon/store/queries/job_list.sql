-- $1 status or NULL for all, $2 limit, $3 contract_id or NULL, $4 created at or after this UTC time or NULL,
-- $5 created within this many milliseconds before the database's now or NULL, $6 a target glob (* and ?, an
-- exact name matches itself) or NULL, $7 a step type or NULL. Newest first. The target and step type filters
-- match any step each, as a pause's do (docs/fleet.md). steps is the writer's: a value that is not an array
-- matches neither filter rather than failing the list, nor does a target or step type that is not a string.
-- age_seconds: since created_at; duration_seconds: started_at to completed_at, or to now while RUNNING;
-- NULL when a timestamp is infinite (the writer's created_at may be: subtracting it would fail the list).
-- The writer's texts are cut to 1,000 characters (a status_reason of 100 MB took the command 400 MB a row):
-- their stored size is read without reading them, and only the first characters are read.
SELECT job_id::text, contract_id::text, status,
       CASE WHEN octet_length(status_reason) > 4000
            THEN left(status_reason, 1000) || format('... (%s bytes)', octet_length(status_reason))
            ELSE status_reason END,
       current_step_index, total_steps, created_at, started_at, completed_at, timeout_at,
       CASE WHEN octet_length(created_by) > 4000
            THEN left(created_by, 1000) || format('... (%s bytes)', octet_length(created_by)) ELSE created_by END,
       CASE WHEN isfinite(created_at) THEN extract(epoch FROM (now() AT TIME ZONE 'UTC') - created_at)::float8 END
           AS age_seconds,
       CASE WHEN isfinite(started_at) AND isfinite(completed_at) IS NOT false
            THEN extract(epoch FROM coalesce(completed_at, CASE WHEN status = 'RUNNING' THEN now() AT TIME ZONE 'UTC' END)
                                    - started_at)::float8 END AS duration_seconds
  FROM governance_jobs j
 WHERE ($1::text IS NULL OR status = $1::text)
   AND ($3::uuid IS NULL OR contract_id = $3::uuid)
   AND ($4::timestamp IS NULL OR created_at >= $4::timestamp)
   AND ($5::bigint IS NULL OR created_at >= (now() AT TIME ZONE 'UTC') - $5::bigint * interval '1 millisecond')
   AND ($6::text IS NULL OR EXISTS (
         SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(j.steps) = 'array' THEN j.steps END) s
          WHERE jsonb_typeof(s->'target') = 'string' AND s->>'target' LIKE govjobd.glob_like($6::text)))
   AND ($7::text IS NULL OR EXISTS (
         SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(j.steps) = 'array' THEN j.steps END) s
          WHERE jsonb_typeof(s->'step_type') = 'string' AND s->>'step_type' = $7::text))
 ORDER BY created_at DESC, job_id
 LIMIT $2::int
