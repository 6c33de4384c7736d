-- The fleet (docs/fleet.md): which daemon may claim a job (routing), one change per target at a time
-- (target holds), pauses, and what each daemon serves and sees BLOCKED (its worker row).

-- pool: the creating system's, optional: NULL lets any daemon claim the job; otherwise only a daemon whose
-- worker.pools lists it. route_step_types, route_targets: govjobd's summary of the steps (sorted, distinct),
-- always computed here from the steps, never taken from a writer; NULL when the steps are malformed in a way
-- SQL can see, so that any daemon claims the job and fails it fast with the parser's message.
ALTER TABLE governance_jobs
    ADD COLUMN IF NOT EXISTS pool             varchar(100),
    ADD COLUMN IF NOT EXISTS route_step_types text[],
    ADD COLUMN IF NOT EXISTS route_targets    text[];

-- The routing rules, once, for the claim and for every query that explains a PENDING job (SQL-standard bodies:
-- their names are bound here, not by a caller's search_path, and the planner inlines them).
-- A shell glob (* any run, ? one character, everything else literal) as a LIKE pattern.
CREATE OR REPLACE FUNCTION govjobd.glob_like(glob text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN replace(replace(replace(replace(replace(glob, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'), '?', '_');
-- Whether a daemon serving these step types, target globs and pools can run a job of this route entirely.
CREATE OR REPLACE FUNCTION govjobd.serves(step_types text[], targets text[], pool text, served_step_types text[],
                                          served_targets text[], served_pools text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(step_types <@ served_step_types
       AND ('*' = ANY (served_targets) OR NOT EXISTS (
               SELECT 1 FROM unnest(targets) t
                WHERE NOT EXISTS (SELECT 1 FROM unnest(served_targets) g WHERE t LIKE govjobd.glob_like(g))))
       AND (pool IS NULL OR pool = ANY (served_pools)), false);
-- Whether a pause with these filters (NULL: any) matches a job of this route. A malformed job (route NULL)
-- matches only a pause without a step type or target filter.
CREATE OR REPLACE FUNCTION govjobd.pause_matches(pause_step_type text, pause_target_glob text, pause_pool text,
                                                 step_types text[], targets text[], pool text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce((pause_step_type IS NULL OR pause_step_type = ANY (step_types))
       AND (pause_target_glob IS NULL
            OR EXISTS (SELECT 1 FROM unnest(targets) t WHERE t LIKE govjobd.glob_like(pause_target_glob)))
       AND (pause_pool IS NULL OR pause_pool = pool), false);

-- Computes the route of every inserted row and of every update that names steps or a route column (a
-- writer's value for a route column is replaced). Reads nothing but the row: roles without rights on
-- govjobd's tables still insert. Nothing in a row makes it fail: every value is read by type first.
CREATE OR REPLACE FUNCTION govjobd.govjobd_route_job() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, govjobd, pg_temp AS $$
BEGIN
    NEW.route_step_types := NULL;
    NEW.route_targets := NULL;
    IF jsonb_typeof(NEW.steps) = 'array' AND jsonb_array_length(NEW.steps) BETWEEN 1 AND 1000
       AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(NEW.steps) e
            WHERE jsonb_typeof(e) <> 'object'
               OR jsonb_typeof(e -> 'step_type') IS DISTINCT FROM 'string'
               OR jsonb_typeof(e -> 'step_index') IS DISTINCT FROM 'number'
               OR coalesce(jsonb_typeof(e -> 'target'), 'null') NOT IN ('string', 'null')
               OR octet_length(e ->> 'step_type') NOT BETWEEN 1 AND 100
               OR coalesce(octet_length(e ->> 'target'), 0) > 1024) THEN
        NEW.route_step_types := ARRAY(SELECT DISTINCT e ->> 'step_type' FROM jsonb_array_elements(NEW.steps) e ORDER BY 1);
        NEW.route_targets := ARRAY(SELECT DISTINCT e ->> 'target' FROM jsonb_array_elements(NEW.steps) e
                                    WHERE jsonb_typeof(e -> 'target') = 'string' AND e ->> 'target' <> '' ORDER BY 1);
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS govjobd_route_job ON governance_jobs;
CREATE TRIGGER govjobd_route_job
    BEFORE INSERT OR UPDATE OF steps, route_step_types, route_targets ON governance_jobs
    FOR EACH ROW EXECUTE FUNCTION govjobd.govjobd_route_job();
-- the PENDING jobs already queued get their route (naming a route column fires the trigger)
UPDATE governance_jobs SET route_targets = NULL WHERE status = 'PENDING';

-- One change per target (worker.exclusive_targets): a RUNNING job holds each of its targets, taken in its
-- claim's statement (one holder per target: the primary key), released in its end's, freed when it is reaped.
CREATE TABLE IF NOT EXISTS govjobd.target_holds (
    target  text         PRIMARY KEY,
    job_id  uuid         NOT NULL REFERENCES governance_jobs (job_id) ON DELETE CASCADE,
    held_by varchar(200) NOT NULL,
    held_at timestamp    NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);
CREATE INDEX IF NOT EXISTS target_holds_job_idx ON govjobd.target_holds (job_id);

-- Pauses (govjobd pause / resume): no claim takes a job a pause matches; a pause without filters matches all.
CREATE TABLE IF NOT EXISTS govjobd.pauses (
    pause_id    bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    step_type   varchar(100),
    target_glob varchar(1024),
    pool        varchar(100),
    until       timestamp,
    reason      varchar(1000) NOT NULL CHECK (reason <> ''),
    paused_by   varchar(100)  NOT NULL,
    paused_at   timestamp     NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    resumed_by  varchar(100),
    resumed_at  timestamp
);
CREATE INDEX IF NOT EXISTS pauses_active_idx ON govjobd.pauses (pause_id) WHERE resumed_at IS NULL;

-- What each daemon serves (its config) and sees BLOCKED (its latest health snapshot), for routing the
-- fleet's jobs, `govjobd workers` and `jobs show`. serves_targets: globs (a daemon serving every target writes {*}).
ALTER TABLE govjobd.govjobd_workers
    ADD COLUMN IF NOT EXISTS serves_step_types text[],
    ADD COLUMN IF NOT EXISTS serves_targets    text[],
    ADD COLUMN IF NOT EXISTS serves_pools      text[],
    ADD COLUMN IF NOT EXISTS concurrency       int,
    ADD COLUMN IF NOT EXISTS blocked_targets   text[],
    ADD COLUMN IF NOT EXISTS host_blocked      boolean,
    ADD COLUMN IF NOT EXISTS health_at         timestamp;

ALTER TABLE govjobd.target_holds OWNER TO govjobd_owner;
ALTER TABLE govjobd.pauses OWNER TO govjobd_owner;
ALTER FUNCTION govjobd.glob_like(text) OWNER TO govjobd_owner;
ALTER FUNCTION govjobd.serves(text[], text[], text, text[], text[], text[]) OWNER TO govjobd_owner;
ALTER FUNCTION govjobd.pause_matches(text, text, text, text[], text[], text) OWNER TO govjobd_owner;
ALTER FUNCTION govjobd.govjobd_route_job() OWNER TO govjobd_owner;
REVOKE ALL ON govjobd.target_holds, govjobd.pauses FROM PUBLIC;
REVOKE ALL ON FUNCTION govjobd.glob_like(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION govjobd.serves(text[], text[], text, text[], text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION govjobd.pause_matches(text, text, text, text[], text[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION govjobd.govjobd_route_job() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govjobd.glob_like(text), govjobd.serves(text[], text[], text, text[], text[], text[]),
                          govjobd.pause_matches(text, text, text, text[], text[], text) TO govjobd_daemon;
GRANT SELECT, INSERT, DELETE ON govjobd.target_holds TO govjobd_daemon;
GRANT SELECT, INSERT, UPDATE ON govjobd.pauses TO govjobd_daemon;
GRANT SELECT ON govjobd.pauses TO govjobd_writer;
