-- How many jobs are PENDING, for how many seconds the oldest has waited (NULL: none), and how many are parked
-- for an activation window not open yet. A parked job waits for its contract's window (a scheduled start,
-- migration 21; only a daemon's window pass parks one): counted as such, never as a backlog (a start scheduled
-- a week ahead made GovjobdBacklogOld fire 30 minutes after its insert, for a week). One whose opening came
-- and that no claim or pass has unparked yet waits like any other, since its opening. created_at is the
-- writer's value: an infinite one cannot be subtracted and is left out of the age (a statement that failed on
-- it would leave `govjobd status` and the metrics blind), and one in the future counts as 0.
SELECT a.pending,
       CASE WHEN a.oldest IS NOT NULL
            THEN greatest(extract(epoch FROM (now() AT TIME ZONE 'UTC') - a.oldest)::float8, 0) END,
       a.parked
  FROM (SELECT count(*) AS pending, min(s.since) FILTER (WHERE isfinite(s.since)) AS oldest,
               count(*) FILTER (WHERE j.window_opens_at > now() AT TIME ZONE 'UTC') AS parked
          FROM governance_jobs j
         CROSS JOIN LATERAL (SELECT CASE WHEN j.window_opens_at IS NULL THEN j.created_at
                                         WHEN j.window_opens_at <= now() AT TIME ZONE 'UTC' THEN j.window_opens_at
                                    END AS since) s
         WHERE j.status = 'PENDING') a
