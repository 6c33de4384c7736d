-- $1 worker_id. A stopped worker runs nothing: the jobs its last heartbeat listed are no longer kept from the
-- reaper (queries/job_reap_candidates.sql).
UPDATE govjobd_workers SET stopped_at = now() AT TIME ZONE 'UTC', running_jobs = NULL WHERE worker_id = $1
