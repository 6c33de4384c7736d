-- A window pass (contract.enabled, docs/contract.md "Scheduled starts"), one statement, run by each daemon
-- at its poll interval: it parks the scheduled starts among the next jobs of the claim's walk, and reads
-- parked jobs against their contract rows again.
-- $1 at most this many jobs not parked to read, in the claim's order, after ($2 created_at, $3 job_id) (NULL:
-- from the oldest); $4 at most this many parked jobs to read, in their opening's order, after ($5
-- window_opens_at, $6 job_id) (NULL: from the first). The daemon keeps both places and starts over at the
-- end of each list, so that every job is read again within a bounded number of passes. $7: the first this many
-- jobs of the claim's order are read by every pass too, wherever the place is: that is where claims walk, and
-- a scheduled start may land there behind the place (an old created_at, a window moved after a claim
-- unparked its job at the old opening).
-- A job read gets the opening its contract row gives it now (ACTIVE, window_start later than now and before
-- window_end, if any: parked
-- until then; infinity: parked for good, until the row changes), or NULL (claimable). Only the jobs whose
-- value changes are written, each locked without waiting (a claim or a writer holds it: the next pass).
-- A job unparked here (its window moved earlier, its contract no longer ACTIVE or gone) wakes the daemons.
-- Returns the jobs parked and unparked, and how far each read went (NULL: the list ended: start over).
WITH contracts AS NOT MATERIALIZED (
    SELECT @contract.id@ AS id, left(@contract.status@::text, 100) AS status, @contract.window_start_at@ AS window_start,
           @contract.window_end_at@ AS window_end
      FROM @contract_table@
), head AS MATERIALIZED (
    SELECT j.job_id, j.contract_id
      FROM governance_jobs j
     WHERE j.status = 'PENDING' AND j.window_opens_at IS NULL
     ORDER BY j.created_at, j.job_id
     LIMIT $7::int
), ready AS MATERIALIZED (
    SELECT j.job_id, j.created_at, j.contract_id
      FROM governance_jobs j
     WHERE j.status = 'PENDING' AND j.window_opens_at IS NULL
       AND ($2::timestamp IS NULL OR (j.created_at, j.job_id) > ($2::timestamp, $3::uuid))
     ORDER BY j.created_at, j.job_id
     LIMIT $1::int
), parked AS MATERIALIZED (
    SELECT j.job_id, j.window_opens_at, j.contract_id
      FROM governance_jobs j
     WHERE j.status = 'PENDING' AND j.window_opens_at IS NOT NULL
       AND ($5::timestamp IS NULL OR (j.window_opens_at, j.job_id) > ($5::timestamp, $6::uuid))
     ORDER BY j.window_opens_at, j.job_id
     LIMIT $4::int
), decided AS (
    SELECT x.job_id, h.opens
      FROM (SELECT r.job_id, r.contract_id, NULL::timestamp AS was FROM ready r
            UNION  -- a job in both is read once
            SELECT h.job_id, h.contract_id, NULL::timestamp FROM head h
            UNION ALL
            SELECT p.job_id, p.contract_id, p.window_opens_at FROM parked p) x
      LEFT JOIN LATERAL (SELECT k.window_start AS opens FROM contracts k
                          WHERE k.id = x.contract_id AND k.status = 'ACTIVE'
                            AND k.window_start > now() AT TIME ZONE 'UTC'
                            AND (k.window_end IS NULL OR k.window_end > k.window_start)  -- one that can open
                          LIMIT 1) h ON true
     WHERE h.opens IS DISTINCT FROM x.was
), locked AS (
    SELECT j.job_id, d.opens
      FROM governance_jobs j JOIN decided d ON d.job_id = j.job_id
     WHERE j.status = 'PENDING'
       FOR UPDATE OF j SKIP LOCKED
), changed AS (
    UPDATE governance_jobs j SET window_opens_at = l.opens
      FROM locked l
     WHERE j.job_id = l.job_id
    RETURNING l.opens
)
SELECT (SELECT count(*) FROM changed WHERE opens IS NOT NULL) AS parked,
       (SELECT count(*) FROM changed WHERE opens IS NULL) AS unparked,
       (SELECT r.created_at::text FROM ready r ORDER BY r.created_at DESC, r.job_id DESC LIMIT 1)
           AS ready_after_at,
       (SELECT r.job_id::text FROM ready r ORDER BY r.created_at DESC, r.job_id DESC LIMIT 1) AS ready_after_id,
       (SELECT count(*) FROM ready) AS ready_read,
       (SELECT p.window_opens_at::text FROM parked p ORDER BY p.window_opens_at DESC, p.job_id DESC LIMIT 1) AS parked_after_at,
       (SELECT p.job_id::text FROM parked p ORDER BY p.window_opens_at DESC, p.job_id DESC LIMIT 1) AS parked_after_id,
       (SELECT count(*) FROM parked) AS parked_read,
       (SELECT count(pg_notify('govjobd_jobs', '')) FROM (SELECT 1 FROM changed WHERE opens IS NULL LIMIT 1) w) AS woke
