-- How many jobs are PENDING, for how many seconds the oldest not parked has waited (NULL: none), and how many
-- are parked. A parked job waits for its contract's activation window (a scheduled start, migration 21; only a
-- daemon's window pass parks one): counted as such, never as a backlog (a start scheduled a week ahead made
-- GovjobdBacklogOld fire 30 minutes after its insert, for a week). created_at is the writer's value: an
-- infinite one cannot be subtracted and is left out of the age (a statement that failed on it would leave
-- `govjobd status` and the metrics blind), and one in the future counts as 0.
SELECT count(*),
       CASE WHEN min(created_at) FILTER (WHERE window_opens_at IS NULL AND isfinite(created_at)) IS NOT NULL
            THEN greatest(extract(epoch FROM (now() AT TIME ZONE 'UTC')
                                             - min(created_at) FILTER (WHERE window_opens_at IS NULL
                                                                         AND isfinite(created_at)))::float8, 0) END,
       count(*) FILTER (WHERE window_opens_at IS NOT NULL)
  FROM governance_jobs
 WHERE status = 'PENDING'
