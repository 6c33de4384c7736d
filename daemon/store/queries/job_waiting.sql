-- $1 job ids (a JSON array of uuids; NULL: the oldest PENDING jobs not parked for a window still to open), $2 at most this many jobs, $3 the lease
-- (ms): a worker not stopped that beat within it is live (as jobs_to_end.sql), $4 with details (jobs show) or
-- the reasons alone (status).
-- Why each PENDING job is not running (docs/fleet.md), a row per reason, the claim's order of reasons, ranked:
-- 1 paused: an active pause matches it (govjobd.pause_matches, as every claim);
-- 2 contract_window: the contract gate on, its contract ACTIVE and its activation window not open yet;
-- 3 unserved: no live daemon serves all of it (govjobd.serves), and what no live daemon serves at all;
-- 4 target_blocked: every live daemon that serves it sees one of its targets, or its host, BLOCKED;
-- 5 target_held: another job holds one of its targets (worker.exclusive_targets);
-- 6 slots: none of those: it waits for a daemon's free slot.
-- Times as ISO-8601 UTC (format_timestamp's form).
-- A malformed job (route NULL) is claimable by any daemon, as in the claim: only a pause without filters holds it.
WITH live AS MATERIALIZED (
    SELECT w.worker_id, w.serves_step_types, w.serves_targets, coalesce(w.serves_pools, '{}') AS serves_pools,
           coalesce(w.blocked_targets, '{}') AS blocked_targets, coalesce(w.host_blocked, false) AS host_blocked
      FROM govjobd_workers w
     WHERE govjobd.worker_live(w.stopped_at, w.heartbeat_at, w.serves_step_types, $3::bigint)
), paused AS MATERIALIZED (
    SELECT p.pause_id, p.step_type, p.target_glob, p.pool, p.paused_by, p.reason, p.until
      FROM pauses p
     WHERE govjobd.pause_active(p.resumed_at, p.until)
), contracts AS NOT MATERIALIZED (
    SELECT @contract.id@ AS id, left(@contract.status@::text, 100) AS status,
           @contract.window_start_at@ AS window_start, @contract.window_end_at@ AS window_end
      FROM @contract_table@
), queue AS MATERIALIZED (
    -- the jobs asked for, parked or not; or the oldest of those not parked for a window still to open (the
    -- claim's index, and the parked jobs' for those whose opening came): the others wait for their contract
    -- windows and are counted as such (jobs_pending_age.sql), never classified one by one, so that $2 of them
    -- ahead cannot hide a paused or unserved job behind them
    SELECT q.* FROM (
        (SELECT j.job_id, j.contract_id, j.created_at, j.route_step_types, j.route_targets, j.pool
           FROM governance_jobs j
          WHERE $1::jsonb IS NOT NULL AND j.status = 'PENDING'
            AND j.job_id IN (SELECT e::uuid FROM jsonb_array_elements_text($1::jsonb) e)
          LIMIT $2::int)
        UNION ALL
        (SELECT j.job_id, j.contract_id, j.created_at, j.route_step_types, j.route_targets, j.pool
           FROM governance_jobs j
          WHERE $1::jsonb IS NULL AND j.status = 'PENDING' AND j.window_opens_at IS NULL
          ORDER BY j.created_at, j.job_id
          LIMIT $2::int)
        UNION ALL
        (SELECT j.job_id, j.contract_id, j.created_at, j.route_step_types, j.route_targets, j.pool
           FROM governance_jobs j
          WHERE $1::jsonb IS NULL AND j.status = 'PENDING' AND j.window_opens_at IS NOT NULL
            AND j.window_opens_at <= now() AT TIME ZONE 'UTC'
          ORDER BY j.window_opens_at, j.job_id
          LIMIT $2::int)) q
     ORDER BY q.created_at, q.job_id
     LIMIT $2::int
), jobs AS MATERIALIZED (
    -- serving: the live daemons that serve all of the job (none for a malformed job: every daemon claims it)
    SELECT q.*, ARRAY(SELECT w.worker_id FROM live w
                       WHERE govjobd.serves(q.route_step_types, q.route_targets, q.pool, w.serves_step_types,
                                            w.serves_targets, w.serves_pools)) AS serving
      FROM queue q
), reasons AS MATERIALIZED (
    SELECT j.job_id, x.rank, x.reason, x.details
      FROM jobs j
     CROSS JOIN LATERAL (
        SELECT 1 AS rank, 'paused' AS reason,
               CASE WHEN $4::bool THEN jsonb_build_object('pauses', (
                   SELECT jsonb_agg(jsonb_build_object('pause_id', p.pause_id, 'step_type', p.step_type,
                                                       'target_glob', p.target_glob, 'pool', p.pool,
                                                       'paused_by', p.paused_by, 'reason', p.reason,
                                                       'until', to_char(p.until, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                                    ORDER BY p.pause_id)
                     FROM paused p
                    WHERE govjobd.pause_matches(p.step_type, p.target_glob, p.pool, j.route_step_types,
                                                j.route_targets, j.pool))) END AS details
         WHERE EXISTS (SELECT 1 FROM paused p
                        WHERE govjobd.pause_matches(p.step_type, p.target_glob, p.pool, j.route_step_types,
                                                    j.route_targets, j.pool))
        UNION ALL
        SELECT 2, 'contract_window', jsonb_build_object('contract_id', j.contract_id, 'window_start',
                                                      CASE WHEN isfinite(k.window_start)  -- else 'infinity': never opens
                                                           THEN to_char(k.window_start, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                                           ELSE k.window_start::text END)
          FROM (SELECT c.status, c.window_start, c.window_end FROM contracts c WHERE c.id = j.contract_id LIMIT 1) k
         WHERE @contract_enabled@ AND k.status = 'ACTIVE' AND k.window_start > now() AT TIME ZONE 'UTC'
           AND (k.window_end IS NULL OR k.window_end > k.window_start)
        UNION ALL
        SELECT 3, 'unserved',
               CASE WHEN $4::bool THEN jsonb_build_object('missing', (
                   SELECT coalesce(jsonb_agg(m.text ORDER BY m.kind, m.name), jsonb_build_array(
                              'no live daemon serves all of step types ' || array_to_string(j.route_step_types, ', ')
                              || coalesce('; targets ' || nullif(array_to_string(j.route_targets, ', '), ''), '')
                              || coalesce('; pool ' || j.pool, '') || ' together'))
                     FROM (SELECT 1 AS kind, s AS name, 'no live daemon serves step type ' || s AS text
                             FROM unnest(j.route_step_types) s
                            WHERE NOT EXISTS (SELECT 1 FROM live w WHERE s = ANY (w.serves_step_types))
                           UNION ALL
                           SELECT 2, t, 'no live daemon serves target ' || t
                             FROM unnest(j.route_targets) t
                            WHERE NOT EXISTS (SELECT 1 FROM live w
                                               WHERE govjobd.serves('{}', ARRAY[t], NULL, '{}', w.serves_targets, '{}'))
                           UNION ALL
                           SELECT 3, j.pool, 'no live daemon serves pool ' || j.pool
                            WHERE j.pool IS NOT NULL AND NOT EXISTS (SELECT 1 FROM live w WHERE j.pool = ANY (w.serves_pools))
                          ) m)) END
         WHERE j.route_step_types IS NOT NULL AND cardinality(j.serving) = 0
        UNION ALL
        SELECT 4, 'target_blocked',
               CASE WHEN $4::bool THEN jsonb_build_object(
                   'blocked', (SELECT coalesce(jsonb_agg(jsonb_build_object('target', b.target, 'worker_ids', b.ids)
                                                         ORDER BY b.target), '[]')
                                 FROM (SELECT t AS target, jsonb_agg(w.worker_id ORDER BY w.worker_id) AS ids
                                         FROM unnest(j.route_targets) t
                                         JOIN live w ON w.worker_id = ANY (j.serving) AND t = ANY (w.blocked_targets)
                                        GROUP BY t) b),
                   'host_blocked', (SELECT coalesce(jsonb_agg(w.worker_id ORDER BY w.worker_id), '[]')
                                      FROM live w WHERE w.worker_id = ANY (j.serving) AND w.host_blocked)) END
         WHERE cardinality(j.serving) > 0
           AND NOT EXISTS (SELECT 1 FROM live w
                            WHERE w.worker_id = ANY (j.serving) AND NOT w.host_blocked
                              AND NOT j.route_targets && w.blocked_targets)
        UNION ALL
        SELECT 5, 'target_held',
               CASE WHEN $4::bool THEN jsonb_build_object('holds', (
                   SELECT jsonb_agg(jsonb_build_object('target', h.target, 'job_id', h.job_id, 'held_by', h.held_by,
                                                       'held_at', to_char(h.held_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                                    ORDER BY h.target)
                     FROM target_holds h WHERE h.target = ANY (j.route_targets) AND h.job_id <> j.job_id)) END
         WHERE EXISTS (SELECT 1 FROM target_holds h WHERE h.target = ANY (j.route_targets) AND h.job_id <> j.job_id)
    ) x
)
SELECT j.job_id::text, r.reason, CASE WHEN $4::bool THEN
           (jsonb_build_object('reason', r.reason) || coalesce(r.details, '{}'))::text END
  FROM jobs j
  JOIN (SELECT job_id, rank, reason, details FROM reasons
        UNION ALL
        SELECT q.job_id, 6, 'slots', NULL FROM queue q WHERE NOT EXISTS (SELECT 1 FROM reasons r WHERE r.job_id = q.job_id)) r
    ON r.job_id = j.job_id
 ORDER BY j.created_at, j.job_id, r.rank
