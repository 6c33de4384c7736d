-- $1 worker_id, $2 host, $3 pid, $4 version
INSERT INTO govjobd_workers (worker_id, host, pid, version, started_at, heartbeat_at, alive_since)
VALUES ($1, $2, $3::int, $4, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
ON CONFLICT (worker_id) DO UPDATE
   SET host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version, started_at = EXCLUDED.started_at,
       heartbeat_at = EXCLUDED.heartbeat_at, alive_since = EXCLUDED.alive_since, stopped_at = NULL
