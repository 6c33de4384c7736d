-- $1 worker_id, $2 job_ids it runs (jsonb array of text), $3 lease in milliseconds, $4 the targets its
-- latest health snapshot sees BLOCKED (jsonb array of text; NULL: unchanged), $5 whether it sees its host BLOCKED,
-- what it serves (after a reload; NULL: unchanged): $6 step types, $7 target globs, $8 pools (jsonb arrays of
-- text), $9 its concurrency, $10 the jobs it was woken as backup for (jsonb array of uuid text; docs/fleet.md).
-- Returns whether the worker row exists, the live workers (govjobd.worker_live: the ranks
-- of "who claims a new job"; at most 1,000) and which of $10 are still PENDING and not left for a held target
-- (the release NOTIFYs those: migration 0013), and how full PostgreSQL's NOTIFY queue is, 0 to 1
-- (queries/notify_queue_usage.sql says why it matters).
-- Renews the worker and the leases of the jobs it knows it runs, no others: a job claimed in a
-- transaction whose result was lost keeps its old lease and is reaped. A job row another session holds
-- locked (the creating system's open transaction) is passed over, not waited for: the heartbeat must not
-- stall behind it (the reaper would take this worker's other jobs), and the jobs recorded in running_jobs
-- are not reaped while this heartbeat is fresh (queries/job_reap_candidates.sql). A heartbeat later than a lease
-- after the previous one starts a new unbroken run (alive_since): the worker was cut off, not beating.
WITH beat AS (
    UPDATE govjobd_workers
       SET alive_since = CASE WHEN alive_since IS NULL
                                OR heartbeat_at < (now() AT TIME ZONE 'UTC') - make_interval(secs => $3::bigint / 1000.0)
                              THEN now() AT TIME ZONE 'UTC' ELSE alive_since END,
           heartbeat_at = now() AT TIME ZONE 'UTC', stopped_at = NULL,
           blocked_targets = CASE WHEN $4::jsonb IS NULL THEN blocked_targets
                                  ELSE ARRAY(SELECT jsonb_array_elements_text($4::jsonb)) END,
           host_blocked = CASE WHEN $4::jsonb IS NULL THEN host_blocked ELSE $5::bool END,
           health_at = CASE WHEN $4::jsonb IS NULL THEN health_at ELSE now() AT TIME ZONE 'UTC' END,
           serves_step_types = CASE WHEN $6::jsonb IS NULL THEN serves_step_types
                                    ELSE ARRAY(SELECT jsonb_array_elements_text($6::jsonb)) END,
           serves_targets = CASE WHEN $7::jsonb IS NULL THEN serves_targets
                                 ELSE ARRAY(SELECT jsonb_array_elements_text($7::jsonb)) END,
           serves_pools = CASE WHEN $8::jsonb IS NULL THEN serves_pools
                               ELSE ARRAY(SELECT jsonb_array_elements_text($8::jsonb)) END,
           concurrency = coalesce($9::int, concurrency),
           running_jobs = ARRAY(SELECT (jsonb_array_elements_text($2::jsonb))::uuid)
     WHERE worker_id = $1
    RETURNING worker_id
), leases AS (
    UPDATE governance_jobs
       SET lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => $3::bigint / 1000.0)
     WHERE job_id IN (SELECT l.job_id FROM governance_jobs l
                       WHERE l.status = 'RUNNING' AND l.claimed_by = $1
                         AND l.job_id IN (SELECT (jsonb_array_elements_text($2::jsonb))::uuid)
                         FOR NO KEY UPDATE SKIP LOCKED)
    RETURNING job_id
)
-- leases runs whether or not it is read (PostgreSQL runs every data-modifying WITH to completion)
SELECT (SELECT count(*) FROM beat),
       (SELECT coalesce(jsonb_agg(w.worker_id ORDER BY w.worker_id), '[]')
          FROM (SELECT worker_id FROM govjobd_workers
                 WHERE govjobd.worker_live(stopped_at, heartbeat_at, serves_step_types, $3::bigint)
                 ORDER BY worker_id LIMIT 1000) w),
       (SELECT coalesce(jsonb_agg(j.job_id), '[]') FROM governance_jobs j
         WHERE j.status = 'PENDING' AND j.job_id IN (SELECT (jsonb_array_elements_text($10::jsonb))::uuid)
           AND NOT EXISTS (SELECT 1 FROM target_holds h WHERE h.waiting_job = j.job_id)),
       pg_catalog.pg_notification_queue_usage()
