-- How many jobs are PENDING, and for how many seconds the oldest has waited (NULL: none).
SELECT count(*), extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(created_at))::float8
  FROM governance_jobs
 WHERE status = 'PENDING'
