-- $1 only jobs created at or after this (timestamp text, or NULL for all).
-- One row per broken invariant: job_id, what is wrong. Used by `govjobd verify`.
WITH jobs AS (
    SELECT * FROM governance_jobs WHERE $1::timestamp IS NULL OR created_at >= $1::timestamp
), recorded AS (
    -- jobs holding what govjobd alone writes, from the claim on (the claim starts these over,
    -- queries/job_claim.sql). A CTE of its own: the writer's table may have a column of any name.
    SELECT job_id FROM jobs
     WHERE coalesce(step_results, '[]'::jsonb) NOT IN ('[]'::jsonb, 'null'::jsonb)
        OR NOT govjobd.json_absent(execution_evidence) OR NOT govjobd.json_absent(health_snapshot_after)
), last_transition AS (
    SELECT DISTINCT ON (t.job_id) t.job_id, t.to_status
      FROM governance_job_transitions t JOIN jobs j USING (job_id)
     ORDER BY t.job_id, t.transition_id DESC
), chain AS (
    SELECT t.job_id, t.transition_id, t.from_status, t.to_status, t.recorded_by_role,
           lag(t.to_status) OVER (PARTITION BY t.job_id ORDER BY t.transition_id) AS previous,
           row_number() OVER (PARTITION BY t.job_id ORDER BY t.transition_id) AS position
      FROM governance_job_transitions t JOIN jobs j USING (job_id)
), results AS (
    SELECT j.job_id, r.ord, r.value ->> 'status' AS status, r.step_index,
           (r.value ->> 'started_at') IS NULL
               AND coalesce(r.value ->> 'error', '') LIKE 'No handler registered for step type: %' AS no_handler,
           lag(r.value ->> 'status') OVER (PARTITION BY j.job_id ORDER BY r.ord) AS previous_status,
           lag(r.step_index) OVER (PARTITION BY j.job_id ORDER BY r.ord) AS previous_index
      FROM jobs j
     CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(j.step_results) = 'array' THEN j.step_results ELSE '[]' END)
           WITH ORDINALITY AS r0(value, ord)
     CROSS JOIN LATERAL (SELECT r0.value, r0.ord,
                                CASE WHEN jsonb_typeof(r0.value -> 'step_index') = 'number'
                                     THEN (r0.value ->> 'step_index')::numeric END AS step_index) r
), roles AS (
    SELECT rolname FROM pg_roles  -- a daemon's (superusers included), and the cancel function's
     WHERE pg_has_role(rolname, 'govjobd_daemon', 'MEMBER') OR rolname = 'govjobd_owner'
)
SELECT j.job_id::text, format('status %s but the last transition is to %s', j.status, l.to_status)
  FROM jobs j JOIN last_transition l USING (job_id) WHERE l.to_status IS DISTINCT FROM j.status
UNION ALL
SELECT job_id::text, format('transition %s: %s -> %s follows a transition to %s', transition_id,
                            coalesce(from_status, 'NULL'), to_status, coalesce(previous, 'nothing'))
  FROM chain WHERE previous IS NOT NULL AND from_status IS DISTINCT FROM previous
UNION ALL
SELECT job_id::text, format('transition %s: %s -> %s is outside the state machine', transition_id, coalesce(from_status, 'NULL'), to_status)
  FROM chain
 WHERE NOT ((from_status IS NULL AND to_status = 'PENDING')
         OR (from_status = 'PENDING' AND to_status IN ('RUNNING', 'CANCELLED'))
         OR (from_status = 'RUNNING' AND to_status IN ('COMPLETED', 'FAILED', 'CANCELLED')))
UNION ALL
SELECT job_id::text, format('transition %s: the first transition recorded starts from %s', transition_id, from_status)
  FROM chain WHERE position = 1 AND from_status IS DISTINCT FROM 'PENDING' AND from_status IS NOT NULL
UNION ALL
SELECT job_id::text, format('transition %s: written by role %s, which is not a govjobd daemon''s', transition_id, recorded_by_role)
  FROM chain WHERE recorded_by_role IS NOT NULL AND recorded_by_role NOT IN (SELECT rolname FROM roles)
UNION ALL
SELECT j.job_id::text, format('%s with no transition recorded', j.status)
  FROM jobs j WHERE j.status <> 'PENDING' AND NOT EXISTS (SELECT 1 FROM last_transition l WHERE l.job_id = j.job_id)
UNION ALL
SELECT job_id::text, 'PENDING with results, evidence, a snapshot after, a start, an end or a lease: not written by govjobd'
  FROM jobs
 WHERE status = 'PENDING'
   AND (job_id IN (SELECT job_id FROM recorded) OR started_at IS NOT NULL OR completed_at IS NOT NULL OR lease_expires_at IS NOT NULL)
UNION ALL
-- the same left in a job cancelled before it ran (govjobd.job_cancel leaves a PENDING job's columns as they are)
SELECT j.job_id::text, format('%s before it ran, with results, evidence or a snapshot after: not written by govjobd', j.status)
  FROM jobs j
 WHERE j.status = 'CANCELLED' AND j.job_id IN (SELECT job_id FROM recorded)
   AND NOT EXISTS (SELECT 1 FROM governance_job_transitions t WHERE t.job_id = j.job_id AND t.to_status = 'RUNNING')
UNION ALL
-- Code on the jobs table that is not govjobd's runs with the rights of whoever writes a job, a daemon
-- included: only the table's owner can attach it, and nothing it writes can then be vouched for.
SELECT 'governance_jobs', format('trigger %s runs %s, which is not govjobd''s', t.tgname, t.tgfoid::regproc)
  FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE t.tgrelid = to_regclass(@jobs_schema_literal@ || '.governance_jobs') AND NOT t.tgisinternal
   AND p.pronamespace <> 'govjobd'::regnamespace
UNION ALL
-- ('R', ENABLE REPLICA TRIGGER, fires only in sessions with session_replication_role = replica: off for all others)
SELECT 'governance_jobs', format('govjobd''s trigger %s is %s', t.tgname,
                                 CASE t.tgenabled WHEN 'D' THEN 'disabled' ELSE 'enabled for replication sessions only' END)
  FROM pg_trigger t
 WHERE t.tgrelid = to_regclass(@jobs_schema_literal@ || '.governance_jobs') AND NOT t.tgisinternal
   AND t.tgenabled NOT IN ('O', 'A')
UNION ALL
-- Each of govjobd's triggers as migrate made it: its function, the events it fires on (tgtype) and whether it
-- has a WHEN. An owner's trigger of the same name (dropped and made again) calling another govjobd function,
-- on other events or behind a WHEN of its own, is not one (a helper's audit, 2026-12-05). A WHEN rewritten on a
-- trigger that has one is not seen here: the owner is as trusted as an administrator (docs/security.md).
SELECT 'governance_jobs', CASE WHEN t.oid IS NULL
                               THEN format('govjobd''s trigger %s is missing: dropped by the table''s owner', n.name)
                               ELSE format('govjobd''s trigger %s is not as govjobd made it (its function, events or WHEN): '
                                           'made again by the table''s owner', n.name) END
  FROM (VALUES ('govjobd_absent_json', 'govjobd_absent_json', 7, true),
               ('govjobd_guard_job_status', 'govjobd_guard_job_status', 19, true),
               ('govjobd_guard_job_status_insert', 'govjobd_guard_job_status', 7, true),
               ('govjobd_guard_window', 'govjobd_guard_window', 23, true),
               ('govjobd_guard_writer', 'govjobd_guard_writer', 23, true),
               ('govjobd_guard_writer_delete', 'govjobd_guard_writer', 11, false),
               ('govjobd_guard_writer_truncate', 'govjobd_guard_writer', 34, false),
               ('govjobd_notify_cancel', 'govjobd_notify_cancel', 17, true),
               ('govjobd_notify_pending', 'govjobd_notify_pending', 4, false),
               ('govjobd_route_job', 'govjobd_route_job', 23, false)) n(name, function, events, has_when)
  LEFT JOIN pg_trigger t ON t.tgrelid = to_regclass(@jobs_schema_literal@ || '.governance_jobs') AND t.tgname = n.name
  LEFT JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE t.oid IS NULL OR p.pronamespace <> 'govjobd'::regnamespace OR p.proname <> n.function
    OR t.tgtype <> n.events OR (t.tgqual IS NOT NULL) <> n.has_when
UNION ALL
SELECT 'governance_jobs', format('rule %s is not govjobd''s', rulename)
  FROM pg_rules WHERE schemaname = @jobs_schema_literal@ AND tablename = 'governance_jobs'
UNION ALL
SELECT 'governance_jobs', format('row-level security policy %s is not govjobd''s', policyname)
  FROM pg_policies WHERE schemaname = @jobs_schema_literal@ AND tablename = 'governance_jobs'
UNION ALL
SELECT job_id::text, format('step_results[%s] (step_index %s) is out of order', ord - 1, step_index)
  FROM results WHERE previous_index IS NOT NULL AND step_index <= previous_index
UNION ALL
SELECT job_id::text, format('step_results[%s] (step_index %s) is %s after a failed or skipped step', ord - 1, step_index, status)
  FROM results WHERE previous_status IN ('FAILED', 'SKIPPED') AND status <> 'SKIPPED'
   -- a step type with no handler, found before any step ran: that step FAILED, never started, the others SKIPPED
   AND NOT (status = 'FAILED' AND previous_status = 'SKIPPED' AND no_handler)
UNION ALL
SELECT job_id::text, format('%s steps FAILED: a job stops at its first failure', count(*))
  FROM results WHERE status = 'FAILED' GROUP BY job_id HAVING count(*) > 1
UNION ALL
SELECT r.job_id::text, format('COMPLETED with step_index %s %s', r.step_index, r.status)
  FROM results r JOIN jobs j USING (job_id) WHERE j.status = 'COMPLETED' AND r.status <> 'COMPLETED'
UNION ALL
SELECT job_id::text, format('%s with %s step results for %s steps', status, jsonb_array_length(step_results), jsonb_array_length(steps))
  FROM jobs
 WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND jsonb_typeof(step_results) = 'array'
   AND jsonb_typeof(steps) = 'array' AND jsonb_array_length(step_results) > 0
   AND jsonb_array_length(step_results) <> jsonb_array_length(steps)
UNION ALL
SELECT job_id::text, format('%s without completed_at', status)
  FROM jobs WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at IS NULL
UNION ALL
SELECT job_id::text, format('RUNNING with no live lease (claimed_by %s, lease until %s)', coalesce(claimed_by, 'nobody'),
                            coalesce(lease_expires_at::text, 'never'))
  FROM jobs WHERE status = 'RUNNING' AND (lease_expires_at IS NULL OR lease_expires_at < now() AT TIME ZONE 'UTC')
ORDER BY 1, 2
