-- govjobd's objects live in the schema govjobd (moved there, when a database predates it, by
-- queries/schema_migrations_create.sql). Each trigger function gets a pinned search_path, and the one that
-- reads the jobs table is made again naming it with its schema: a session's temp table or a writer-made
-- function named like one of ours, or like a built-in, is never what a trigger uses.
ALTER FUNCTION govjobd.govjobd_guard_job_status() SET search_path = pg_catalog, govjobd, pg_temp;
ALTER FUNCTION govjobd.govjobd_notify_pending() SET search_path = pg_catalog, govjobd, pg_temp;
ALTER FUNCTION govjobd.govjobd_notify_cancel() SET search_path = pg_catalog, govjobd, pg_temp;

CREATE OR REPLACE FUNCTION govjobd.govjobd_guard_transitions() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, govjobd, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'governance_job_transitions is append-only and cannot be truncated' USING ERRCODE = 'GJ003';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'governance_job_transitions is append-only: transition % of job % cannot be updated',
            OLD.transition_id, OLD.job_id USING ERRCODE = 'GJ003';
    END IF;
    IF EXISTS (SELECT 1 FROM governance_jobs WHERE job_id = OLD.job_id) THEN
        RAISE EXCEPTION 'governance_job_transitions is append-only: transition % of job % cannot be deleted while the job exists',
            OLD.transition_id, OLD.job_id USING ERRCODE = 'GJ003';
    END IF;
    RETURN OLD;
END
$$;
