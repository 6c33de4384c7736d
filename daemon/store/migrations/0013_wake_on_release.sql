-- A new job whose target another RUNNING job holds (worker.exclusive_targets) waits for the release, not for
-- the poll, and does not wake the fleet (docs/fleet.md, "Who claims a new job"): the daemon whose claim left it
-- for the hold records it on the hold (queries/job_wake_pass.sql) instead of passing its wake on, and the
-- statement that releases the hold (the end, the reaper, the release of stray holds) NOTIFYs that job, which
-- wakes the daemon ranked first for it. Only daemons write it (govjobd_daemon); the writer has no grant here.
ALTER TABLE govjobd.target_holds ADD COLUMN IF NOT EXISTS waiting_job uuid;
GRANT UPDATE (waiting_job) ON govjobd.target_holds TO govjobd_daemon;

-- Whether a pause is in force: not resumed, and not past its `until`. One rule for the claim, the wake's pass,
-- the jobs to end and "why is it waiting" (each wrote it out before).
CREATE OR REPLACE FUNCTION govjobd.pause_active(resumed_at timestamp, until timestamp) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN resumed_at IS NULL AND (until IS NULL OR until > now() AT TIME ZONE 'UTC');
