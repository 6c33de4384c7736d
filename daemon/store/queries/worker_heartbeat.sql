-- $1 worker_id, $2 job_ids it runs (jsonb array of text), $3 lease in milliseconds.
-- Renews the worker and the leases of the jobs it knows it runs, no others: a job claimed in a
-- transaction whose result was lost keeps its old lease and is reaped. A heartbeat later than a lease
-- after the previous one starts a new unbroken run (alive_since): the worker was cut off, not beating.
WITH beat AS (
    UPDATE govjobd_workers
       SET alive_since = CASE WHEN alive_since IS NULL
                                OR heartbeat_at < (now() AT TIME ZONE 'UTC') - make_interval(secs => $3::bigint / 1000.0)
                              THEN now() AT TIME ZONE 'UTC' ELSE alive_since END,
           heartbeat_at = now() AT TIME ZONE 'UTC', stopped_at = NULL
     WHERE worker_id = $1
    RETURNING worker_id
), leases AS (
    UPDATE governance_jobs
       SET lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => $3::bigint / 1000.0)
     WHERE status = 'RUNNING' AND claimed_by = $1
       AND job_id IN (SELECT (jsonb_array_elements_text($2::jsonb))::uuid)
    RETURNING job_id
)
-- leases runs whether or not it is read (PostgreSQL runs every data-modifying WITH to completion)
SELECT (SELECT count(*) FROM beat)
