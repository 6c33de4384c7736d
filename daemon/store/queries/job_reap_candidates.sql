-- $1 how many at most, $2 the reaper's own worker_id, $3 its lease, $4 its hold, both in milliseconds,
-- $5 the largest steps (JSON text, bytes) fetched: larger ones stay in the database (NULL here).
-- RUNNING jobs whose lease ran out (their worker stopped heartbeating), locked for this reaper; another
-- reaper running at the same time skips them.
-- A lease can also run out because the database was down or stalled for everyone: then every worker's
-- heartbeats stopped, the reaper's own included. So a reaper only ends a job when it witnessed the
-- silence: its own heartbeats ran unbroken since before the owner's last one, or for a whole hold
-- (a lease, a heartbeat and the longest reconnect backoff: time for every live worker to beat again).
-- Its own last heartbeat must also be recent, or its view of "now" is no better than the owner's.
-- A job its owner still lists in running_jobs with a heartbeat within the lease is not lost: its lease ran out
-- while another session held its row locked (queries/worker_heartbeat.sql).
WITH me AS (
    SELECT alive_since FROM govjobd_workers
     WHERE worker_id = $2
       AND heartbeat_at > (now() AT TIME ZONE 'UTC') - make_interval(secs => $3::bigint / 1000.0)
)
SELECT j.job_id::text, coalesce(j.claimed_by, 'unknown'),
       CASE WHEN octet_length(j.steps::text) <= $5::bigint THEN j.steps::text END, coalesce(j.step_results, '[]'::jsonb)::text,
       j.current_step_index, w.heartbeat_at, j.lease_expires_at, j.started_at,
       left(c.requested_by, 100), left(c.reason, 1000)
  FROM governance_jobs j
  LEFT JOIN govjobd_workers w ON w.worker_id = j.claimed_by
  LEFT JOIN cancel_requests c ON c.job_id = j.job_id  -- a cancel its lost worker never acted on
  CROSS JOIN me
 WHERE j.status = 'RUNNING' AND j.lease_expires_at < now() AT TIME ZONE 'UTC'
   AND (me.alive_since <= w.heartbeat_at OR w.heartbeat_at IS NULL
        OR me.alive_since < (now() AT TIME ZONE 'UTC') - make_interval(secs => $4::bigint / 1000.0))
   AND NOT coalesce(j.job_id = ANY (w.running_jobs)  -- NULL: no list (stopped, or a daemon before 0016)
                    AND w.heartbeat_at > (now() AT TIME ZONE 'UTC') - make_interval(secs => $3::bigint / 1000.0), false)
 ORDER BY j.lease_expires_at
 LIMIT $1::int
   FOR UPDATE OF j SKIP LOCKED
