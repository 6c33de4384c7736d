-- $1 this daemon's worker_id, $2 the lease (ms: a worker that beat within it is live), $3 worker.unroutable_after
-- (ms), $4 how many at most.
-- The PENDING jobs to claim only to end them, whatever their routing (docs/fleet.md):
--   - those whose deadline (timeout_at) passed: they end FAILED as they would when claimed;
--   - those no live daemon serves (no live worker's serves_* cover all of their step types, targets and
--     pool), created longer than unroutable_after ago, and not held by a pause, once this daemon too has been
--     alive that long (a fleet restarting together does not fail what a daemon not yet back serves).
--     created_at is the writer's: one it cannot have meant (NULL, infinite, more than a minute ahead of the
--     database's clock) counts as long ago, else such a job would wait for good.
--     With what is missing: the first step type, target or pool no live daemon serves at all, or, when each
--     is served somewhere, that no one daemon serves them together; and, when a step type is among what is
--     missing, every step type the live daemons serve (their configs' names, never the writer's: a route may
--     hold 1,000 types of 100 bytes), so that the first step in step_index order whose type is not among
--     them fails, as the creator's rule says: "No handler registered for step type: X".
-- A malformed job (route NULL) is claimable by any daemon and never listed here for routing.
WITH live AS (
    SELECT w.serves_step_types, w.serves_targets, coalesce(w.serves_pools, '{}') AS serves_pools
      FROM govjobd_workers w
     WHERE govjobd.worker_live(w.stopped_at, w.heartbeat_at, w.serves_step_types, $2::bigint)
), me AS (
    -- this daemon beat within its lease and without a break for unroutable_after: after an outage that
    -- silenced everyone (every heartbeat old, so nobody "live"), nothing is failed until the fleet had that
    -- long to beat again (a heartbeat after a gap longer than the lease restarts alive_since)
    SELECT 1 FROM govjobd_workers
     WHERE worker_id = $1 AND alive_since < (now() AT TIME ZONE 'UTC') - make_interval(secs => $3::bigint / 1000.0)
       AND heartbeat_at > (now() AT TIME ZONE 'UTC') - make_interval(secs => $2::bigint / 1000.0)
), paused AS MATERIALIZED (
    SELECT p.step_type, p.target_glob, p.pool FROM pauses p
     WHERE govjobd.pause_active(p.resumed_at, p.until)
), routes AS (
    -- each distinct route once: the queue may be long, its routes are few
    SELECT DISTINCT j.route_step_types, j.route_targets, j.pool
      FROM governance_jobs j
     WHERE j.status = 'PENDING' AND j.route_step_types IS NOT NULL AND EXISTS (SELECT 1 FROM me)
       AND NOT coalesce(j.created_at BETWEEN (now() AT TIME ZONE 'UTC') - make_interval(secs => $3::bigint / 1000.0)
                                        AND (now() AT TIME ZONE 'UTC') + interval '1 minute', false)
), served AS MATERIALIZED (
    SELECT coalesce(to_jsonb(array_agg(DISTINCT t)), '[]'::jsonb)::text AS step_types
      FROM live w CROSS JOIN LATERAL unnest(w.serves_step_types) t
), unserved AS (
    SELECT r.route_step_types, r.route_targets, r.pool, m.step_type IS NOT NULL AS type_missing,
           coalesce(
               'no live daemon serves step type ' || m.step_type,
               (SELECT 'no live daemon serves target ' || t FROM unnest(r.route_targets) t
                 WHERE NOT EXISTS (SELECT 1 FROM live w
                                    WHERE govjobd.serves('{}', ARRAY[t], NULL, '{}', w.serves_targets, '{}'))
                 ORDER BY t LIMIT 1),
               CASE WHEN r.pool IS NOT NULL AND NOT EXISTS (SELECT 1 FROM live w WHERE r.pool = ANY (w.serves_pools))
                    THEN 'no live daemon serves pool ' || r.pool END,
               'no live daemon serves all of step types ' || array_to_string(r.route_step_types, ', ')
                   || coalesce('; targets ' || nullif(array_to_string(r.route_targets, ', '), ''), '')
                   || coalesce('; pool ' || r.pool, '') || ' together') AS missing
      FROM routes r
      -- the first of its step types (by name) no live daemon serves, if any: named in `missing`
      LEFT JOIN LATERAL (SELECT s AS step_type FROM unnest(r.route_step_types) s
                          WHERE NOT EXISTS (SELECT 1 FROM live w WHERE s = ANY (w.serves_step_types))
                          ORDER BY s LIMIT 1) m ON true
     WHERE NOT EXISTS (SELECT 1 FROM live w
                        WHERE govjobd.serves(r.route_step_types, r.route_targets, r.pool, w.serves_step_types,
                                             w.serves_targets, w.serves_pools))
)
(SELECT j.job_id::text, NULL::text, NULL::text
   FROM governance_jobs j
  WHERE j.status = 'PENDING' AND j.timeout_at <= now() AT TIME ZONE 'UTC'
  ORDER BY j.created_at, j.job_id
  LIMIT $4::int)
UNION ALL
(SELECT j.job_id::text, left(u.missing, 1000), CASE WHEN u.type_missing THEN (SELECT step_types FROM served) END
   FROM governance_jobs j
   JOIN unserved u ON u.route_step_types = j.route_step_types AND u.route_targets = j.route_targets
                  AND u.pool IS NOT DISTINCT FROM j.pool
  WHERE j.status = 'PENDING' AND (j.timeout_at IS NULL OR j.timeout_at > now() AT TIME ZONE 'UTC')
    AND NOT coalesce(j.created_at BETWEEN (now() AT TIME ZONE 'UTC') - make_interval(secs => $3::bigint / 1000.0)
                                       AND (now() AT TIME ZONE 'UTC') + interval '1 minute', false)
    AND NOT EXISTS (SELECT 1 FROM paused p
                     WHERE govjobd.pause_matches(p.step_type, p.target_glob, p.pool, j.route_step_types,
                                                 j.route_targets, j.pool))
  ORDER BY j.created_at, j.job_id
  LIMIT $4::int)
