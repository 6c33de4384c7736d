-- How many jobs are PENDING, and for how many seconds the oldest has waited (NULL: none). created_at is the
-- writer's value: an infinite one cannot be subtracted and is left out of the age (a statement that failed
-- on it would leave `govjobd status` and the metrics blind), and one in the future counts as 0.
SELECT count(*),
       CASE WHEN min(created_at) FILTER (WHERE isfinite(created_at)) IS NOT NULL
            THEN greatest(extract(epoch FROM (now() AT TIME ZONE 'UTC')
                                             - min(created_at) FILTER (WHERE isfinite(created_at)))::float8, 0) END
  FROM governance_jobs
 WHERE status = 'PENDING'
