-- Scheduled starts kept out of the claim's walk (contract.enabled, docs/contract.md "Scheduled starts").
--
-- A job whose contract is ACTIVE and whose activation window opens later stays PENDING. The claim walks the
-- PENDING jobs in age order and read each such job's contract row before it found one it could take: with
-- 20,000 scheduled jobs older than the others, about 100 ms a claim and 96 jobs/s (one daemon, concurrency
-- 10; 2,102 jobs/s with them parked), and every daemon of a fleet paid it for every claim.
--
-- window_opens_at is govjobd's, nullable, without a default: NULL for every job a writer inserts. A daemon's
-- window pass (queries/jobs_window_pass.sql) parks a scheduled job by writing there the opening its contract
-- row gives, and reads parked jobs against their contract rows again (a window moved, a contract no longer
-- ACTIVE); the claim unparks a job whose opening came. The claim walks only jobs not parked (the first
-- index), and reads the next opening from the second. Parking only ever delays a claim: the claim still reads
-- every job's contract row before it takes it, as before.
ALTER TABLE governance_jobs ADD COLUMN IF NOT EXISTS window_opens_at timestamp;
CREATE INDEX IF NOT EXISTS governance_jobs_pending_ready_idx ON governance_jobs (created_at, job_id)
    WHERE status = 'PENDING' AND window_opens_at IS NULL;
CREATE INDEX IF NOT EXISTS governance_jobs_pending_parked_idx ON governance_jobs (window_opens_at, job_id)
    WHERE status = 'PENDING' AND window_opens_at IS NOT NULL;
-- The claim's order index of migration 5, replaced by the first: one entry per PENDING job, as before. What
-- reads every PENDING job in age order (why a job waits, the jobs to end) reads the creator's status index.
DROP INDEX IF EXISTS @jobs_schema@.governance_jobs_pending_order_idx;

-- Only a daemon parks a job: a role that is not a daemon's may not set the column (unparking, NULL, is
-- harmless: the claim reads that job's contract again). Rows by a daemon's role call nothing.
CREATE OR REPLACE FUNCTION govjobd.govjobd_guard_window() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, govjobd, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'governance job %: % may not set window_opens_at: a scheduled start is parked by govjobd',
        NEW.job_id, current_user USING ERRCODE = 'GJ005';
END
$$;
DROP TRIGGER IF EXISTS govjobd_guard_window ON governance_jobs;
CREATE TRIGGER govjobd_guard_window BEFORE INSERT OR UPDATE OF window_opens_at ON governance_jobs
    FOR EACH ROW WHEN (NEW.window_opens_at IS NOT NULL
                       AND NOT pg_catalog.pg_has_role(CURRENT_USER, 'govjobd_daemon', 'MEMBER')
                       AND CURRENT_USER <> 'govjobd_owner')
    EXECUTE FUNCTION govjobd.govjobd_guard_window();
