-- Least privilege, enforced by the database (docs/security.md). Three group roles, none of which can log in:
--   govjobd_owner   owns govjobd's objects; nobody runs as it (the cancel function runs with its rights);
--   govjobd_daemon  what a daemon does: claim, record, heartbeat, reap, retention. Grant it to the daemon's login;
--   govjobd_writer  what the creating system may do: insert PENDING jobs, read, request cancels through
--                   govjobd.job_cancel(). Grant it to that system's login.
-- Creating them needs CREATEROLE (or a superuser); a database whose roles exist already needs neither.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['govjobd_owner', 'govjobd_daemon', 'govjobd_writer'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN NULL;  -- another database of this cluster made it
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'role % does not exist and % may not create it: run govjobd migrate once as a role with CREATEROLE, or create the roles govjobd_owner, govjobd_daemon and govjobd_writer (NOLOGIN) first',
                        r, current_user USING ERRCODE = 'GJ004';
            END;
        END IF;
    END LOOP;
    IF NOT pg_has_role(current_user, 'govjobd_owner', 'MEMBER') THEN
        EXECUTE format('GRANT govjobd_owner TO %I', current_user);
    END IF;
END
$$;

-- Who wrote each transition, as the database saw it: set by the database, never by the writer of the row.
ALTER TABLE governance_job_transitions ADD COLUMN IF NOT EXISTS recorded_by_role name;

-- The jobs table for everyone who is not privileged (the creating system): insert PENDING jobs with nothing
-- of govjobd's in them; change a job only while it is PENDING and only in the columns that describe it;
-- delete nothing. A privileged role deletes only terminal jobs (retention); a superuser anything. Beside govjobd_guard_job_status,
-- which enforces the state machine for everyone. Privileged: a member of govjobd_daemon (a daemon, a
-- superuser) or govjobd_owner itself (the cancel function), not the owner's members (a migrating role). The function reads nothing of the schema govjobd, so roles
-- without access to it (the creating system's, before it is granted govjobd_writer) still insert jobs.
CREATE OR REPLACE FUNCTION govjobd.govjobd_guard_writer() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, govjobd, pg_temp AS $$
DECLARE
    privileged constant boolean := pg_has_role(current_user, 'govjobd_daemon', 'MEMBER')
                                   OR current_user = 'govjobd_owner';
    -- a superuser can disable any trigger: refusing it a delete would protect nothing and hinder repairs
    superuser constant boolean := coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false);
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF superuser THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'governance_jobs holds evidence and cannot be truncated' USING ERRCODE = 'GJ005';
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF superuser OR (privileged AND OLD.status IN ('COMPLETED', 'FAILED', 'CANCELLED')) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'governance job % (%): only retention run by a govjobd daemon deletes jobs, and only terminal ones',
            OLD.job_id, OLD.status USING ERRCODE = 'GJ005';
    END IF;
    IF privileged THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status IS DISTINCT FROM 'PENDING'
           OR coalesce(NEW.step_results, '[]'::jsonb) <> '[]'::jsonb
           OR NEW.execution_evidence IS NOT NULL OR NEW.health_snapshot_after IS NOT NULL
           OR NEW.started_at IS NOT NULL OR NEW.completed_at IS NOT NULL
           OR NEW.claimed_by IS NOT NULL OR NEW.lease_expires_at IS NOT NULL
           OR NEW.cancel_requested_at IS NOT NULL OR NEW.cancel_requested_by IS NOT NULL OR NEW.cancel_reason IS NOT NULL THEN
            RAISE EXCEPTION 'governance job %: % may insert only PENDING jobs without results, evidence, a start, an end, a lease or a cancel request',
                NEW.job_id, current_user USING ERRCODE = 'GJ005';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status <> 'PENDING'
       OR NEW.status IS DISTINCT FROM OLD.status OR NEW.status_reason IS DISTINCT FROM OLD.status_reason
       OR NEW.step_results IS DISTINCT FROM OLD.step_results
       OR NEW.execution_evidence IS DISTINCT FROM OLD.execution_evidence
       OR NEW.health_snapshot_after IS DISTINCT FROM OLD.health_snapshot_after
       OR NEW.current_step_index IS DISTINCT FROM OLD.current_step_index
       OR NEW.started_at IS DISTINCT FROM OLD.started_at OR NEW.completed_at IS DISTINCT FROM OLD.completed_at
       OR NEW.claimed_by IS DISTINCT FROM OLD.claimed_by OR NEW.lease_expires_at IS DISTINCT FROM OLD.lease_expires_at
       OR NEW.cancel_requested_at IS DISTINCT FROM OLD.cancel_requested_at
       OR NEW.cancel_requested_by IS DISTINCT FROM OLD.cancel_requested_by
       OR NEW.cancel_reason IS DISTINCT FROM OLD.cancel_reason THEN
        RAISE EXCEPTION 'governance job % (%): % may change only a PENDING job''s own description; statuses, results, evidence and leases are written by govjobd, cancels go through govjobd.job_cancel()',
            OLD.job_id, OLD.status, current_user USING ERRCODE = 'GJ005';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS govjobd_guard_writer ON governance_jobs;
CREATE TRIGGER govjobd_guard_writer
    BEFORE INSERT OR UPDATE OR DELETE ON governance_jobs
    FOR EACH ROW EXECUTE FUNCTION govjobd.govjobd_guard_writer();
DROP TRIGGER IF EXISTS govjobd_guard_writer_truncate ON governance_jobs;
CREATE TRIGGER govjobd_guard_writer_truncate
    BEFORE TRUNCATE ON governance_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION govjobd.govjobd_guard_writer();

-- Transitions: who wrote each one is the database's word, not the row's.
CREATE OR REPLACE FUNCTION govjobd.govjobd_stamp_transition() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, govjobd, pg_temp AS $$
BEGIN
    NEW.recorded_by_role := current_user;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS govjobd_stamp_transition ON governance_job_transitions;
CREATE TRIGGER govjobd_stamp_transition
    BEFORE INSERT ON governance_job_transitions
    FOR EACH ROW EXECUTE FUNCTION govjobd.govjobd_stamp_transition();

-- Cancel requests (below) and govjobd's signals (migration 10) are evidence like the transitions: append-only.
CREATE OR REPLACE FUNCTION govjobd.govjobd_guard_append_only() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, govjobd, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'GJ003';
END
$$;

-- Cancel requests on RUNNING jobs: one per job, append-only evidence. The request never touches the job row,
-- so that no caller's open transaction can hold a lock a daemon's heartbeat or write would wait on.
CREATE TABLE IF NOT EXISTS govjobd.cancel_requests (
    job_id       uuid          PRIMARY KEY,
    requested_by varchar(100)  NOT NULL,
    reason       varchar(1000) NOT NULL,
    requested_at timestamp     NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);
DROP TRIGGER IF EXISTS govjobd_guard_cancel_requests ON govjobd.cancel_requests;
CREATE TRIGGER govjobd_guard_cancel_requests BEFORE UPDATE OR DELETE ON govjobd.cancel_requests
    FOR EACH ROW EXECUTE FUNCTION govjobd.govjobd_guard_append_only();

-- Cancels for those who may not write statuses: PENDING -> CANCELLED at once (with its transition; a PENDING
-- row is only ever locked by claims, which skip locked rows), or a request on a RUNNING job, recorded in
-- govjobd.cancel_requests, that its daemon acts on. Runs with govjobd_owner's rights; returns CANCELLED,
-- REQUESTED, or the reason nothing was done. Texts are bounded: they reach a daemon's memory and logs.
CREATE OR REPLACE FUNCTION govjobd.job_cancel(job uuid, requested_by text, reason text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, govjobd, pg_temp AS $$
DECLARE
    current_status text;
    cancel_text text;
BEGIN
    IF requested_by IS NULL OR reason IS NULL OR length(requested_by) NOT BETWEEN 1 AND 100
       OR length(reason) > 1000 THEN
        RETURN 'refused: requested_by (1 to 100 characters) and reason (at most 1000) are required';
    END IF;
    cancel_text := format('cancelled by %s: %s', requested_by, reason);
    UPDATE governance_jobs j
       SET status = 'CANCELLED', status_reason = cancel_text, completed_at = now() AT TIME ZONE 'UTC',
           cancel_requested_at = now() AT TIME ZONE 'UTC', cancel_requested_by = job_cancel.requested_by,
           cancel_reason = job_cancel.reason
     WHERE j.job_id = job AND j.status = 'PENDING';
    IF FOUND THEN
        INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                                transitioned_at)
        VALUES (job, 'PENDING', 'CANCELLED', NULL, cancel_text, job_cancel.requested_by, now() AT TIME ZONE 'UTC');
        RETURN 'CANCELLED';
    END IF;
    SELECT j.status INTO current_status FROM governance_jobs j WHERE j.job_id = job;  -- no lock
    IF NOT FOUND THEN
        RETURN 'not found';
    ELSIF current_status = 'RUNNING' THEN
        INSERT INTO cancel_requests (job_id, requested_by, reason)
        VALUES (job, job_cancel.requested_by, job_cancel.reason)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN 'RUNNING and already has a cancel request';
        END IF;
        PERFORM pg_notify('govjobd_cancel', job::text);
        RETURN 'REQUESTED';
    ELSIF current_status = 'PENDING' THEN
        RETURN 'PENDING and being claimed; try again';
    END IF;
    RETURN format('%s, a terminal state; nothing to cancel', current_status);
END
$$;

-- Ownership and grants. Our objects belong to govjobd_owner; PUBLIC gets nothing of them.
ALTER SCHEMA govjobd OWNER TO govjobd_owner;
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT c.relname FROM pg_class c
              WHERE c.relnamespace = 'govjobd'::regnamespace AND c.relkind IN ('r', 'p', 'v') LOOP
        EXECUTE format('ALTER TABLE govjobd.%I OWNER TO govjobd_owner', o.relname);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS signature FROM pg_proc p WHERE p.pronamespace = 'govjobd'::regnamespace LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO govjobd_owner', o.signature);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', o.signature);
    END LOOP;
END
$$;
REVOKE ALL ON SCHEMA govjobd FROM PUBLIC;
GRANT USAGE ON SCHEMA govjobd TO govjobd_daemon, govjobd_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA govjobd TO govjobd_daemon;
GRANT INSERT ON govjobd.governance_job_transitions TO govjobd_daemon;
GRANT INSERT, UPDATE ON govjobd.govjobd_workers TO govjobd_daemon;
GRANT SELECT ON govjobd.governance_job_transitions, govjobd.cancel_requests TO govjobd_writer;
GRANT EXECUTE ON FUNCTION govjobd.job_cancel(uuid, text, text) TO govjobd_writer, govjobd_daemon;
-- The jobs table is the creating system's: govjobd grants on it what each role needs (the migrating role
-- must own it or be a superuser). Its owner keeps every right of an owner: see docs/security.md.
GRANT SELECT, UPDATE, DELETE ON governance_jobs TO govjobd_daemon;
GRANT SELECT, UPDATE ON governance_jobs TO govjobd_owner;
GRANT SELECT, INSERT ON governance_jobs TO govjobd_writer;
