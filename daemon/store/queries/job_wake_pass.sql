-- $1 job_id (uuid text), $2 the NOTIFY payload for the daemon whose turn is next (daemon/run/wake.hpp).
-- Passes a new job's wake on, only while the job is still PENDING: a job another daemon took wakes nobody.
-- A job that no daemon may claim now is not passed on (every daemon would claim in vain): one whose target
-- another RUNNING job holds is recorded on the hold, and the release NOTIFYs it (migration 0013); one a pause
-- matches waits for `govjobd resume`, which NOTIFYs.
WITH job AS (
    SELECT j.job_id, j.route_step_types, j.route_targets, j.pool
      FROM governance_jobs j
     WHERE j.job_id = $1::uuid AND j.status = 'PENDING'
), held AS (
    UPDATE target_holds h SET waiting_job = job.job_id
      FROM job
     WHERE h.target = ANY (job.route_targets) AND h.job_id <> job.job_id
    RETURNING h.target
)
SELECT pg_notify('govjobd_jobs', $2::text)
  FROM job
 WHERE NOT EXISTS (SELECT 1 FROM held)
   AND NOT EXISTS (SELECT 1 FROM pauses p
                    WHERE govjobd.pause_active(p.resumed_at, p.until)
                      AND govjobd.pause_matches(p.step_type, p.target_glob, p.pool, job.route_step_types,
                                                job.route_targets, job.pool))
