-- $1 keep in milliseconds, $2 batch size. Deletes one batch of terminal jobs completed before now - keep;
-- their transitions go with them (ON DELETE CASCADE). SKIP LOCKED: no waiting on rows someone holds.
DELETE FROM governance_jobs
 WHERE job_id IN (SELECT job_id
                    FROM governance_jobs
                   WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')
                     AND completed_at < (now() AT TIME ZONE 'UTC') - make_interval(secs => $1::bigint / 1000.0)
                   ORDER BY completed_at
                   LIMIT $2::int
                     FOR UPDATE SKIP LOCKED)
