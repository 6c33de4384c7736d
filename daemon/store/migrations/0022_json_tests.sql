-- Two tests of job JSON, each written once, as SQL functions the planner inlines (with constant arguments
-- their parts are built once, when a statement is planned).
--
-- JSON that is never written out as text (queries/job_claim.sql, queries/job_get.sql): nested `levels` deep or
-- more, or holding a number past 1e300 or within 1e-300 of 0 (nearer the top than `levels`). jsonb keeps
-- 1e131071 in a few bytes and writes it out as 131,072 digits: 9,000 such numbers in a 2.5 kB row are a
-- gigabyte of text, and the server runs out of memory. A jsonpath walk stops at `levels` (one of 14,000 levels
-- runs out of PostgreSQL's stack). One test, in one place: the claim asks it of a job's steps (100 levels,
-- the steps parser's bound) and of each field of a step (98: the same depth within the steps), `jobs show` of
-- each column.
CREATE OR REPLACE FUNCTION govjobd.json_unwritable(value jsonb, levels integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_path_exists(value, ('strict $.**{' || levels::text || '}')::jsonpath)
        OR jsonb_path_exists(value, ('strict $.**{0 to ' || (levels - 1)::text || '} ? (@.type() == "number" && '
                                     '(@ > 1e300 || @ < -1e300 || (@ != 0 && @ < 1e-300 && @ > -1e-300)))')::jsonpath);
ALTER FUNCTION govjobd.json_unwritable(jsonb, integer) OWNER TO govjobd_owner;
REVOKE ALL ON FUNCTION govjobd.json_unwritable(jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govjobd.json_unwritable(jsonb, integer) TO govjobd_daemon, govjobd_writer;

-- A column of the writer's that holds nothing: SQL NULL, or JSON null (an ORM writes None as JSON null unless
-- told otherwise). Measured by its stored size first, so that a large value is never read to be compared.
-- (STABLE, as pg_column_size is: a function declared less volatile than its body is not inlined)
CREATE OR REPLACE FUNCTION govjobd.json_absent(value jsonb) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN value IS NULL OR CASE WHEN pg_column_size(value) <= 64 THEN value = 'null'::jsonb ELSE false END;
ALTER FUNCTION govjobd.json_absent(jsonb) OWNER TO govjobd_owner;
REVOKE ALL ON FUNCTION govjobd.json_absent(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govjobd.json_absent(jsonb) TO govjobd_daemon, govjobd_writer;

-- JSON null in the creator's columns that hold nothing until a job runs, as inserted, becomes what it means:
-- no evidence, no snapshot, no results (SQL NULL; step_results, NOT NULL for the creator, an empty array).
-- Reads the same to the creator (None either way); the writer's guard (which fires after this trigger: names
-- sort in the order they fire) then lets a role that is not a daemon's insert such a row, and the claim
-- does not take it for results written before the job ran.
CREATE OR REPLACE FUNCTION govjobd.govjobd_absent_json() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, govjobd, pg_temp AS $$
BEGIN  -- built-ins only: a writer without rights on govjobd's schema still inserts
    IF jsonb_typeof(NEW.execution_evidence) = 'null' THEN
        NEW.execution_evidence := NULL;
    END IF;
    IF jsonb_typeof(NEW.health_snapshot_before) = 'null' THEN
        NEW.health_snapshot_before := NULL;
    END IF;
    IF jsonb_typeof(NEW.health_snapshot_after) = 'null' THEN
        NEW.health_snapshot_after := NULL;
    END IF;
    IF jsonb_typeof(NEW.step_results) = 'null' THEN
        NEW.step_results := '[]'::jsonb;
    END IF;
    RETURN NEW;
END
$$;
ALTER FUNCTION govjobd.govjobd_absent_json() OWNER TO govjobd_owner;
REVOKE ALL ON FUNCTION govjobd.govjobd_absent_json() FROM PUBLIC;
DROP TRIGGER IF EXISTS govjobd_absent_json ON governance_jobs;
CREATE TRIGGER govjobd_absent_json BEFORE INSERT ON governance_jobs
    FOR EACH ROW WHEN (pg_catalog.jsonb_typeof(NEW.execution_evidence) = 'null'
                       OR pg_catalog.jsonb_typeof(NEW.health_snapshot_before) = 'null'
                       OR pg_catalog.jsonb_typeof(NEW.health_snapshot_after) = 'null'
                       OR pg_catalog.jsonb_typeof(NEW.step_results) = 'null')
    EXECUTE FUNCTION govjobd.govjobd_absent_json();
