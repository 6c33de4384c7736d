-- $1 how many at most, $2 job_ids to leave out (uuid[]).
-- The PENDING jobs a claim would take (not parked: migration 21), in its order, read without claiming them: when a claim statement
-- fails on a row's data, the store claims these one by one to find and isolate that row.
SELECT job_id::text
  FROM governance_jobs
 WHERE status = 'PENDING' AND window_opens_at IS NULL AND job_id <> ALL ($2::uuid[])
 ORDER BY created_at, job_id
 LIMIT $1::int
