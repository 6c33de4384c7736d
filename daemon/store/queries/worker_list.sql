-- $1 the lease (ms): a worker not stopped that beat within it is live, otherwise lost (as jobs_to_end.sql),
-- $2 at most this many rows (live first, then lost, then stopped; latest heartbeat first).
-- Each worker row with its running jobs, and on every row the counts of all rows by state.
WITH workers AS (
    SELECT w.*, CASE WHEN w.stopped_at IS NOT NULL THEN 'stopped'
                     WHEN w.heartbeat_at > (now() AT TIME ZONE 'UTC') - make_interval(secs => $1::bigint / 1000.0)
                     THEN 'live' ELSE 'lost' END AS state
      FROM govjobd_workers w
), running AS (
    SELECT claimed_by, count(*) AS jobs FROM governance_jobs WHERE status = 'RUNNING' GROUP BY claimed_by
)
SELECT w.worker_id, w.host, w.version, extract(epoch FROM (now() AT TIME ZONE 'UTC') - w.heartbeat_at)::float8,
       w.state, coalesce(r.jobs, 0), w.concurrency, to_jsonb(w.serves_step_types)::text,
       to_jsonb(w.serves_targets)::text, to_jsonb(w.serves_pools)::text, to_jsonb(w.blocked_targets)::text,
       w.host_blocked, count(*) FILTER (WHERE w.state = 'live') OVER (),
       count(*) FILTER (WHERE w.state = 'lost') OVER (), count(*) FILTER (WHERE w.state = 'stopped') OVER ()
  FROM workers w
  LEFT JOIN running r ON r.claimed_by = w.worker_id
 ORDER BY array_position(ARRAY['live', 'lost', 'stopped'], w.state), w.heartbeat_at DESC, w.worker_id
 LIMIT $2::int
