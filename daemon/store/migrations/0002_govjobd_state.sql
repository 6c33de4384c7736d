-- What govjobd itself needs: claim, lease and cancel-request columns (nullable, so that the creating
-- system's inserts and reads are unaffected), the append-only transitions table, the workers table, the
-- triggers that enforce the state machine for every writer, and NOTIFY on new work.

ALTER TABLE governance_jobs
    ADD COLUMN IF NOT EXISTS claimed_by          varchar(200),
    ADD COLUMN IF NOT EXISTS lease_expires_at    timestamp,
    ADD COLUMN IF NOT EXISTS cancel_requested_at timestamp,
    ADD COLUMN IF NOT EXISTS cancel_requested_by varchar(100),
    ADD COLUMN IF NOT EXISTS cancel_reason       text;

-- The claim reads the oldest PENDING jobs; the reaper reads RUNNING jobs by lease. Partial indexes stay
-- small however many terminal jobs the table holds.
CREATE INDEX IF NOT EXISTS governance_jobs_pending_idx
    ON governance_jobs (created_at) WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS governance_jobs_running_lease_idx
    ON governance_jobs (lease_expires_at) WHERE status = 'RUNNING';

CREATE TABLE IF NOT EXISTS governance_job_transitions (
    transition_id   bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id          uuid         NOT NULL REFERENCES governance_jobs (job_id) ON DELETE CASCADE,
    from_status     varchar(20)  CHECK (from_status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    to_status       varchar(20)  NOT NULL
                                 CHECK (to_status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    step_index      int,
    reason          text         NOT NULL DEFAULT '',
    transitioned_by varchar(200) NOT NULL,
    transitioned_at timestamp    NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);
CREATE INDEX IF NOT EXISTS governance_job_transitions_job_idx
    ON governance_job_transitions (job_id, transition_id);

CREATE TABLE IF NOT EXISTS govjobd_workers (
    worker_id    varchar(200) PRIMARY KEY,
    host         text         NOT NULL,
    pid          int          NOT NULL,
    version      text         NOT NULL,
    started_at   timestamp    NOT NULL,
    heartbeat_at timestamp    NOT NULL,
    stopped_at   timestamp
);

-- The state machine, for every writer (govjobd, the creating system, a person in psql).
CREATE OR REPLACE FUNCTION govjobd_guard_job_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status IS NULL OR NEW.status NOT IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED') THEN
            RAISE EXCEPTION 'governance job %: unknown status %', NEW.job_id, coalesce(quote_literal(NEW.status), 'NULL')
                USING ERRCODE = 'GJ002';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN
        RAISE EXCEPTION 'governance job % is % (terminal) and cannot be changed (attempted status %)',
            OLD.job_id, OLD.status, coalesce(NEW.status, 'NULL')
            USING ERRCODE = 'GJ001';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT coalesce(
           (OLD.status = 'PENDING' AND NEW.status IN ('RUNNING', 'CANCELLED'))
        OR (OLD.status = 'RUNNING' AND NEW.status IN ('COMPLETED', 'FAILED', 'CANCELLED')), false) THEN
        RAISE EXCEPTION 'governance job %: invalid status transition % -> %',
            OLD.job_id, coalesce(OLD.status, 'NULL'), coalesce(NEW.status, 'NULL')
            USING ERRCODE = 'GJ002';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS govjobd_guard_job_status ON governance_jobs;
CREATE TRIGGER govjobd_guard_job_status
    BEFORE INSERT OR UPDATE ON governance_jobs
    FOR EACH ROW EXECUTE FUNCTION govjobd_guard_job_status();

-- Transitions are evidence: never updated; deleted only together with their job (cascade, retention).
CREATE OR REPLACE FUNCTION govjobd_guard_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
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

DROP TRIGGER IF EXISTS govjobd_guard_transitions ON governance_job_transitions;
CREATE TRIGGER govjobd_guard_transitions
    BEFORE UPDATE OR DELETE ON governance_job_transitions
    FOR EACH ROW EXECUTE FUNCTION govjobd_guard_transitions();
DROP TRIGGER IF EXISTS govjobd_guard_transitions_truncate ON governance_job_transitions;
CREATE TRIGGER govjobd_guard_transitions_truncate
    BEFORE TRUNCATE ON governance_job_transitions
    FOR EACH STATEMENT EXECUTE FUNCTION govjobd_guard_transitions();

-- Wake daemons at once. One notification per inserting statement (NOTIFY folds identical payloads within
-- a transaction), so bulk inserts cost one wake-up, not one per row.
CREATE OR REPLACE FUNCTION govjobd_notify_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted_jobs WHERE status = 'PENDING') THEN
        PERFORM pg_notify('govjobd_jobs', '');
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS govjobd_notify_pending ON governance_jobs;
CREATE TRIGGER govjobd_notify_pending
    AFTER INSERT ON governance_jobs
    REFERENCING NEW TABLE AS inserted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION govjobd_notify_pending();

CREATE OR REPLACE FUNCTION govjobd_notify_cancel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('govjobd_cancel', NEW.job_id::text);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS govjobd_notify_cancel ON governance_jobs;
CREATE TRIGGER govjobd_notify_cancel
    AFTER UPDATE OF cancel_requested_at ON governance_jobs
    FOR EACH ROW WHEN (OLD.cancel_requested_at IS NULL AND NEW.cancel_requested_at IS NOT NULL)
    EXECUTE FUNCTION govjobd_notify_cancel();
