-- $1 worker_id, $2 how many at most, $3 lease in milliseconds, $4 the largest steps (as JSON text, in bytes)
-- that leaves the database: a larger list is claimed without being fetched, and its job is failed;
-- $5 job_ids never to claim (uuid[]: rows a claim already failed on), $6 claim only this job (NULL: any);
-- $7, $8 the most affected capabilities of a contract read, in entries and in bytes as text.
-- Routing (docs/fleet.md), lists as JSON arrays of strings: $9 the step types this daemon has executors for,
-- $10 the target globs it serves, $11 the pools it serves, $12 worker.exclusive_targets, $13 the targets its
-- latest health snapshot sees BLOCKED, $14 whether it sees its host BLOCKED, $15 claim $6 whatever its
-- routing, pauses and holds (a daemon ending a job nobody serves, or one whose deadline passed).
-- Nothing in a row may make this statement fail: every value of steps is read by type first (issue 14).
-- The oldest PENDING jobs, PENDING -> RUNNING with started_at, the lease and the transition row, in one
-- statement. SKIP LOCKED: several daemons claim side by side and each job goes to exactly one.
-- The contract gate (contract.*, docs/contract.md): `contracts` is the creating system's contracts table,
-- read and never written; the store puts in its names, quoted. With the gate off it is an empty relation
-- and no table is read. A job whose contract is ACTIVE and whose activation window opens later stays
-- PENDING (a scheduled start); every other job is claimed with what its contract row held, bounded.
-- Scheduled starts a daemon's window pass parked (window_opens_at, migration 21) are not walked: a claim of the
-- oldest jobs reads only those not parked (@claim.ready@: `j.window_opens_at IS NULL`, their index; a claim of
-- one job by its id: `true`), and unparks those whose opening came, for the claims after it.
WITH me AS MATERIALIZED (
    SELECT ARRAY(SELECT jsonb_array_elements_text($9::jsonb)) AS step_types,
           ARRAY(SELECT jsonb_array_elements_text($10::jsonb)) AS targets,
           ARRAY(SELECT jsonb_array_elements_text($11::jsonb)) AS pools,
           ARRAY(SELECT jsonb_array_elements_text($13::jsonb)) AS blocked
), paused AS MATERIALIZED (
    SELECT p.step_type, p.target_glob, p.pool
      FROM pauses p
     WHERE govjobd.pause_active(p.resumed_at, p.until)
), contracts AS NOT MATERIALIZED (
    SELECT @contract.id@ AS id, left(@contract.status@::text, 100) AS status,
           CASE WHEN cardinality(@contract.affected_capabilities@) <= $7::bigint
                 AND octet_length(@contract.affected_capabilities@::text) <= $8::bigint
                THEN to_jsonb(ARRAY(SELECT unnest(@contract.affected_capabilities@::text[])))::text END AS capabilities,
           cardinality(@contract.affected_capabilities@)::bigint AS capabilities_count,
           @contract.window_start_at@ AS window_start, @contract.window_end_at@ AS window_end
      FROM @contract_table@
), picked AS (
    SELECT j.job_id, j.created_at, j.route_targets, k.found, k.status, k.capabilities, k.capabilities_count,
           k.window_start, k.window_end,
           -- what a writer left in the columns govjobd records (a PENDING job has none of it): the claim starts
           -- them over, the job fails naming them. A large value is named by its stored size, never expanded.
           -- (jsonb's = expands both sides: the stored size goes first; JSON null, as an ORM writes None, is none)
           CASE WHEN govjobd.json_absent(j.execution_evidence) AND govjobd.json_absent(j.health_snapshot_after)
                 AND (j.step_results IS NULL OR CASE WHEN pg_column_size(j.step_results) <= 64
                                                     THEN j.step_results = '[]'::jsonb ELSE false END)
                THEN NULL  -- nearly every job
           ELSE nullif(concat_ws(', ',
               CASE WHEN j.step_results IS NULL THEN NULL
                    WHEN pg_column_size(j.step_results) > 4096
                    THEN format('step_results (%s bytes of JSON)', pg_column_size(j.step_results))
                    WHEN j.step_results IN ('[]'::jsonb, 'null'::jsonb) THEN NULL
                    WHEN jsonb_typeof(j.step_results) = 'array'
                    THEN format('step_results (an array of %s %s)', jsonb_array_length(j.step_results),
                                CASE WHEN jsonb_array_length(j.step_results) = 1 THEN 'entry' ELSE 'entries' END)
                    ELSE format('step_results (a JSON %s)', jsonb_typeof(j.step_results)) END,
               CASE WHEN NOT govjobd.json_absent(j.execution_evidence) THEN 'execution_evidence' END,
               CASE WHEN NOT govjobd.json_absent(j.health_snapshot_after) THEN 'health_snapshot_after' END), '') END AS preset
      FROM governance_jobs j
      CROSS JOIN me
      LEFT JOIN LATERAL (SELECT true AS found, c.* FROM contracts c WHERE c.id = j.contract_id LIMIT 1) k ON true
     WHERE j.status = 'PENDING' AND @claim.ready@ AND j.job_id <> ALL ($5::uuid[])
       AND ($6::uuid IS NULL OR j.job_id = $6::uuid)
       AND ($15::bool OR (
           -- (a window that ends before it opens never opens: its job is claimed, and the gate fails it)
           NOT coalesce(k.status = 'ACTIVE' AND k.window_start > now() AT TIME ZONE 'UTC'
                        AND (k.window_end IS NULL OR k.window_end > k.window_start), false)
           -- a job this daemon can run entirely (a malformed one, route NULL, every daemon claims and fails)
           AND (j.route_step_types IS NULL OR (
                   govjobd.serves(j.route_step_types, j.route_targets, j.pool, me.step_types, me.targets, me.pools)
               -- what its latest snapshot sees BLOCKED another daemon may see healthy
               AND NOT $14::bool AND NOT j.route_targets && me.blocked
               -- a target another RUNNING job holds (a hold in flight is caught by the insert below)
               AND NOT ($12::bool AND EXISTS (SELECT 1 FROM target_holds h WHERE h.target = ANY (j.route_targets)))))
           AND NOT EXISTS (SELECT 1 FROM paused p
                            WHERE govjobd.pause_matches(p.step_type, p.target_glob, p.pool, j.route_step_types,
                                                        j.route_targets, j.pool))))
     ORDER BY j.created_at, j.job_id
     -- exclusive targets: a third more, to stand in for the picked jobs that share a target (below)
     LIMIT $2::int + CASE WHEN $12::bool AND NOT $15::bool THEN ($2::int + 1) / 3 ELSE 0 END
       FOR UPDATE OF j SKIP LOCKED
), firsts AS (
    -- exclusive targets: each target of the picked jobs, for the oldest picked job that has it (a sort of the
    -- targets: no pair of jobs is compared, whatever their number of targets)
    SELECT DISTINCT ON (t) t AS target, p.job_id
      FROM picked p CROSS JOIN LATERAL unnest(p.route_targets) t
     WHERE $12::bool AND NOT $15::bool  -- a job claimed to be ended runs nothing: it holds nothing
     ORDER BY t, p.created_at, p.job_id
), chosen AS (
    -- exclusive targets: the first $2 picked jobs that share no target with an older picked job. Jobs picked in
    -- one claim often share one (10 of 100 targets: a third of the claims); without the extra ones such a
    -- claim came back short, and its jobs' ends went in a batch of their own ever after.
    -- Without exclusive targets: every picked job (the planner leaves out the other branch).
    SELECT p.* FROM picked p WHERE NOT $12::bool OR $15::bool
    UNION ALL
    (SELECT p.* FROM picked p
       LEFT JOIN (SELECT f.job_id, count(*) AS firsts FROM firsts f GROUP BY f.job_id) f ON f.job_id = p.job_id
      WHERE $12::bool AND NOT $15::bool
        AND (p.route_targets IS NULL OR cardinality(p.route_targets) = coalesce(f.firsts, 0))
      ORDER BY p.created_at, p.job_id
      LIMIT $2::int)
), window_held AS (
    -- when the claim found fewer jobs than asked: the earliest opening of the parked jobs (their index's first
    -- entry; infinity never opens). A scheduled job not parked yet keeps the claims going at each poll (left
    -- behind, below) until a window pass parks it.
    -- (`< 'infinity'`, not isfinite(): an index condition, so that jobs parked for good are never read)
    SELECT min(q.window_opens_at) AS opens
      FROM governance_jobs q
     WHERE @contract_enabled@ AND q.status = 'PENDING' AND q.window_opens_at IS NOT NULL
       AND q.window_opens_at > now() AT TIME ZONE 'UTC' AND q.window_opens_at < 'infinity'::timestamp
       AND (SELECT count(*) FROM picked) < $2::int
), unparked AS (
    -- the gate on: parked jobs whose opening came (queries/job_claim_unpark.sql); off: none (a daemon's window
    -- pass unparks what was parked while it was on, docs/contract.md)
    @claim.unpark@
), wanted AS (
    -- exclusive targets: the targets of the chosen jobs (each is its job's first)
    SELECT f.target, f.job_id FROM firsts f WHERE f.job_id IN (SELECT c.job_id FROM chosen c)
), held AS (
    -- one holder per target (the key): a hold another claim took since this statement's snapshot, committed
    -- or not, is a conflict, and this claim does not get that target. In target order: no deadlock.
    INSERT INTO target_holds (target, job_id, held_by, held_at)
    SELECT target, job_id, $1, now() AT TIME ZONE 'UTC' FROM wanted ORDER BY target
        ON CONFLICT (target) DO NOTHING
    RETURNING target, job_id
), runnable AS (
    -- the chosen jobs that hold every target they have; the others stay PENDING (their holds, if any, are
    -- removed by queries/target_holds_release.sql)
    SELECT p.* FROM chosen p
     WHERE NOT $12::bool OR $15::bool OR p.route_targets IS NULL
        OR cardinality(p.route_targets) = (SELECT count(*) FROM held h WHERE h.job_id = p.job_id)
), claimed AS (
    UPDATE governance_jobs j
       SET status = 'RUNNING', started_at = now() AT TIME ZONE 'UTC', claimed_by = $1,
           lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => $3::bigint / 1000.0),
           -- a job's results, evidence and snapshot after are the daemon's from here on: what a writer left
           -- there (preset) is not among them
           step_results = '[]'::jsonb, execution_evidence = NULL, health_snapshot_after = NULL, window_opens_at = NULL,
           total_steps = CASE WHEN jsonb_typeof(j.steps) = 'array' THEN jsonb_array_length(j.steps) ELSE 0 END,
           -- the first step starts with the claim (one commit less per job); a malformed list keeps its value
           current_step_index = coalesce((
               SELECT CASE WHEN bool_and(n IS NOT NULL AND n BETWEEN 0 AND 2147483647 AND n = trunc(n))
                           THEN min(n)::int END
                 FROM (SELECT CASE WHEN jsonb_typeof(e -> 'step_index') = 'number'
                                   THEN (e ->> 'step_index')::numeric END AS n
                         FROM jsonb_array_elements(CASE WHEN jsonb_typeof(j.steps) = 'array'
                                                             AND jsonb_array_length(j.steps) <= 1000  -- the parser's limit
                                                        THEN j.steps ELSE '[]' END) e) indexes),
               j.current_step_index)
      FROM runnable
     WHERE j.job_id = runnable.job_id
    RETURNING j.job_id, j.contract_id, j.steps, j.timeout_at, j.started_at, j.created_at, j.current_step_index
), transitions AS (
    INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                            transitioned_at)
    SELECT job_id, 'PENDING', 'RUNNING', NULL, 'claimed by ' || $1, $1, started_at FROM claimed
)
-- the claimed jobs, then one row without a job: in how many seconds the first activation window opens (jobs
-- left PENDING for it), how many holds were taken for jobs left PENDING (another claim got one of their other
-- targets first: they must go), and whether PENDING jobs remain that this claim did not take (held, BLOCKED,
-- paused, another daemon's, or more than asked for: an idle daemon then claims again at its next poll, as no
-- NOTIFY tells it that a hold was released or a target is healthy again), and how many of the slots asked for
-- it left empty because picked jobs stayed PENDING for their targets
(SELECT c.job_id::text, c.contract_id::text, CASE WHEN size.bytes <= $4::bigint THEN size.text END, c.timeout_at,
        c.started_at, c.current_step_index, size.bytes, contract_rows.n, p.status, p.capabilities,
        p.capabilities_count, p.window_start, p.window_end, NULL::float8 AS window_opens_in, NULL::bigint AS partial,
        NULL::bool AS left_behind, NULL::bigint AS dropped, pickup.seconds, p.preset, unreadable.place
   FROM claimed c
   JOIN runnable p ON p.job_id = c.job_id
  -- a number past +-1e300, or within 1e-300 of 0, is kept by jsonb in a few bytes and runs as text to as many
  -- digits as its exponent says (9,000 of 1e131071 in a 2.5 kB row: a gigabyte, out of memory, for every claim
  -- that took it): such steps are not written out, and the job fails (bytes -1). So are steps nested deeper
  -- than 100 levels (the parser's bound), where the test for numbers stops (migration 22)
  CROSS JOIN LATERAL (SELECT govjobd.json_unwritable(c.steps, 100) AS extreme) x
  CROSS JOIN LATERAL (SELECT t AS text, CASE WHEN x.extreme THEN -1 ELSE octet_length(t) END::bigint AS bytes
                        FROM (SELECT CASE WHEN NOT x.extreme THEN c.steps::text END AS t) s) size
  -- where, for the reason: the first field of a step that holds it ("steps[0].step_index"), else the steps
  CROSS JOIN LATERAL (SELECT CASE WHEN x.extreme THEN coalesce((
      SELECT format('steps[%s].%s', s.i - 1, f.k)
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.steps) = 'array' THEN c.steps ELSE '[]' END) WITH ORDINALITY s(e, i)
       CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(s.e) = 'object' THEN s.e ELSE '{}' END) f(k, v)
       WHERE govjobd.json_unwritable(f.v, 98)  -- 100 levels within the steps
       ORDER BY s.i, f.k LIMIT 1), 'steps') END AS place) unreadable
  -- the contract rows with the job's contract_id, 0, 1 or 2 (more than one: which governs is unknown, the job
  -- fails). Counted for the claimed jobs only, 2 rows read at most whatever the creator's table holds.
  CROSS JOIN LATERAL (SELECT CASE WHEN p.found THEN (SELECT count(*) FROM (SELECT FROM contracts k2
                                                                         WHERE k2.id = c.contract_id LIMIT 2) d)
                                  ELSE 0 END AS n) contract_rows
  -- the metrics' pickup: created_at is the writer's (NULL or infinite: unknown, any finite value subtracts)
  CROSS JOIN LATERAL (SELECT CASE WHEN isfinite(c.created_at)
                                  THEN extract(epoch FROM c.started_at - c.created_at)::float8 END AS seconds) pickup
  ORDER BY c.created_at, c.job_id)
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       -- (0 when this claim unparked jobs: the next claim takes them, 10 ms from now; and every daemon is woken,
       -- since a claim of another daemon that ran beside this one saw them parked and found no opening ahead)
       CASE WHEN EXISTS (SELECT 1 FROM unparked) THEN (SELECT 0::float8 FROM (SELECT pg_notify('govjobd_jobs', '')) w)
            ELSE (SELECT extract(epoch FROM h.opens - now() AT TIME ZONE 'UTC')::float8 FROM window_held h) END,
       (SELECT count(*) FROM held h WHERE h.job_id NOT IN (SELECT job_id FROM runnable)),
       -- a full claim says true without looking: true only ever adds a claim (after a full one the claimer
       -- claims again when it can, and a claim that comes back short looks). Otherwise the claimed rows are
       -- still PENDING in this statement's snapshot: at most $2 + 1 live entries read, and the entries of
       -- jobs other claims took until no snapshot needs them
       CASE WHEN (SELECT count(*) FROM runnable) >= $2::int OR EXISTS (SELECT 1 FROM unparked) THEN true
            ELSE (SELECT count(*) FROM (SELECT 1 FROM governance_jobs q
                                         WHERE q.status = 'PENDING' AND q.window_opens_at IS NULL
                                         ORDER BY q.created_at, q.job_id LIMIT $2::int + 1) q)  -- the claim's index
                 > (SELECT count(*) FROM runnable) END,
       -- the slots left empty by picked jobs left PENDING for a target another picked job or another claim
       -- took: the next claim may take the jobs behind them (the claimer's next, with the slots this one's jobs free)
       least($2::int, (SELECT count(*) FROM picked)) - (SELECT count(*) FROM runnable),
       NULL, NULL, NULL
