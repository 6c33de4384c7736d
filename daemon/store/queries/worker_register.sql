-- $1 worker_id, $2 host, $3 pid, $4 version, and what it serves (docs/fleet.md), lists as JSON arrays of
-- strings: $5 step types, $6 target globs, $7 pools; $8 its concurrency.
WITH serves AS (
    SELECT ARRAY(SELECT jsonb_array_elements_text($5::jsonb)) AS step_types,
           ARRAY(SELECT jsonb_array_elements_text($6::jsonb)) AS targets,
           ARRAY(SELECT jsonb_array_elements_text($7::jsonb)) AS pools
)
INSERT INTO govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at, alive_since, serves_step_types,
                             serves_targets, serves_pools, concurrency, blocked_targets, host_blocked, health_at)
SELECT $1, $2, $3::int, $4, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC',
       s.step_types, s.targets, s.pools, $8::int, NULL, NULL, NULL
  FROM serves s
ON CONFLICT (worker_id) DO UPDATE
   SET host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version, started_at = EXCLUDED.started_at,
       heartbeat_at = EXCLUDED.heartbeat_at, alive_since = EXCLUDED.alive_since, stopped_at = NULL,
       serves_step_types = EXCLUDED.serves_step_types, serves_targets = EXCLUDED.serves_targets,
       serves_pools = EXCLUDED.serves_pools, concurrency = EXCLUDED.concurrency,
       blocked_targets = NULL, host_blocked = NULL, health_at = NULL,
       running_jobs = NULL  -- a restart runs none of the jobs of the instance before it
