-- $1 job_id (uuid text), $2 the NOTIFY payload for the daemon whose turn is next (daemon/run/wake.hpp).
-- Passes a new job's wake on, only while the job is still PENDING: a job another daemon took wakes nobody.
SELECT pg_notify('govjobd_jobs', $2::text)
  FROM governance_jobs
 WHERE job_id = $1::uuid AND status = 'PENDING'
