-- $1 keep in milliseconds (retention.keep_terminal), $2 the lease in milliseconds, $3 batch size. Deletes the
-- rows of daemons gone longer than keep and a lease: stopped, or silent (lost) since. A daemon that comes
-- back registers again at its next heartbeat. A row that still owns a RUNNING job or a target hold stays
-- until the reaper has ended that job. With a worker id per start (host:pid, the default) every restart
-- leaves a row, and `govjobd workers` would list them for ever. Returns the rows deleted.
DELETE FROM govjobd_workers w
 WHERE w.worker_id IN (
     SELECT g.worker_id
       FROM govjobd_workers g
      WHERE greatest(g.heartbeat_at, g.stopped_at)
                < (now() AT TIME ZONE 'UTC') - make_interval(secs => ($1::bigint + $2::bigint) / 1000.0)
        AND NOT EXISTS (SELECT 1 FROM governance_jobs j WHERE j.status = 'RUNNING' AND j.claimed_by = g.worker_id)
        AND NOT EXISTS (SELECT 1 FROM target_holds h WHERE h.held_by = g.worker_id)
      ORDER BY greatest(g.heartbeat_at, g.stopped_at)
      LIMIT $3::int
        FOR UPDATE SKIP LOCKED)
