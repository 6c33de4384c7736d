-- Less work per claim and per write (issue 20, measured in docs/benchmarks.md), same rules.
--
-- The routing rules of 0011 held subqueries, so the planner could not inline them: every claim planned their
-- bodies again (10 % of a backend's time at concurrency 1). The glob matching moves into two PL/pgSQL
-- functions (compiled once per session, called only when several targets or globs are in play); serves and
-- pause_matches keep their names and meaning and are now inlined. The new functions pin their search_path,
-- as every other one.

-- Whether every target matches at least one of the globs (no targets: true; a NULL target matches nothing).
CREATE OR REPLACE FUNCTION govjobd.targets_all_match(targets text[], globs text[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, govjobd, pg_temp AS $$
DECLARE
    patterns constant text[] := ARRAY(SELECT govjobd.glob_like(g) FROM unnest(globs) g);
    t text;
BEGIN
    FOREACH t IN ARRAY coalesce(targets, '{}') LOOP
        IF NOT coalesce(t LIKE ANY (patterns), false) THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;

-- Whether at least one of the targets matches the glob.
CREATE OR REPLACE FUNCTION govjobd.targets_any_match(targets text[], glob text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, govjobd, pg_temp AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM unnest(targets) t WHERE t LIKE govjobd.glob_like(glob));
END
$$;

CREATE OR REPLACE FUNCTION govjobd.serves(step_types text[], targets text[], pool text, served_step_types text[],
                                          served_targets text[], served_pools text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(step_types <@ served_step_types
       AND CASE WHEN '*' = ANY (served_targets) THEN true
                -- one target and one glob, the common case, without a call
                WHEN cardinality(targets) = 1 AND cardinality(served_targets) = 1
                THEN coalesce(targets[array_lower(targets, 1)]
                              LIKE govjobd.glob_like(served_targets[array_lower(served_targets, 1)]), false)
                ELSE govjobd.targets_all_match(targets, served_targets) END
       AND (pool IS NULL OR pool = ANY (served_pools)), false);

CREATE OR REPLACE FUNCTION govjobd.pause_matches(pause_step_type text, pause_target_glob text, pause_pool text,
                                                 step_types text[], targets text[], pool text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce((pause_step_type IS NULL OR pause_step_type = ANY (step_types))
       AND (pause_target_glob IS NULL OR govjobd.targets_any_match(targets, pause_target_glob))
       AND (pause_pool IS NULL OR pause_pool = pool), false);

ALTER FUNCTION govjobd.targets_all_match(text[], text[]) OWNER TO govjobd_owner;
ALTER FUNCTION govjobd.targets_any_match(text[], text) OWNER TO govjobd_owner;
REVOKE ALL ON FUNCTION govjobd.targets_all_match(text[], text[]), govjobd.targets_any_match(text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govjobd.targets_all_match(text[], text[]), govjobd.targets_any_match(text[], text)
    TO govjobd_daemon;

-- The guards of 0002 and 0009 ran a PL/pgSQL call for every row a daemon wrote (the claim, each result, the
-- end), only to return at once, and the writer's guard read pg_roles on each. Their WHEN clauses now say when
-- the functions have something to check; the functions, their rules and their messages are unchanged. The
-- writer's guard: every DELETE, and an INSERT or UPDATE by a role that is not privileged (the function's own
-- test, 0009). The state machine: an UPDATE of a terminal job or a move it does not allow, an INSERT of an
-- unknown status (the function's own tests, 0002). Trigger names sort in the order they fire, as before.
DROP TRIGGER IF EXISTS govjobd_guard_writer ON governance_jobs;
CREATE TRIGGER govjobd_guard_writer BEFORE INSERT OR UPDATE ON governance_jobs
    FOR EACH ROW WHEN (NOT pg_catalog.pg_has_role(CURRENT_USER, 'govjobd_daemon', 'MEMBER') AND CURRENT_USER <> 'govjobd_owner')
    EXECUTE FUNCTION govjobd.govjobd_guard_writer();
DROP TRIGGER IF EXISTS govjobd_guard_writer_delete ON governance_jobs;
CREATE TRIGGER govjobd_guard_writer_delete BEFORE DELETE ON governance_jobs
    FOR EACH ROW EXECUTE FUNCTION govjobd.govjobd_guard_writer();
DROP TRIGGER IF EXISTS govjobd_guard_job_status ON governance_jobs;
CREATE TRIGGER govjobd_guard_job_status BEFORE UPDATE ON governance_jobs
    FOR EACH ROW WHEN (OLD.status IN ('COMPLETED', 'FAILED', 'CANCELLED')
                       OR (NEW.status IS DISTINCT FROM OLD.status AND NOT coalesce(
                              (OLD.status = 'PENDING' AND NEW.status IN ('RUNNING', 'CANCELLED'))
                           OR (OLD.status = 'RUNNING' AND NEW.status IN ('COMPLETED', 'FAILED', 'CANCELLED')), false)))
    EXECUTE FUNCTION govjobd.govjobd_guard_job_status();
DROP TRIGGER IF EXISTS govjobd_guard_job_status_insert ON governance_jobs;
CREATE TRIGGER govjobd_guard_job_status_insert BEFORE INSERT ON governance_jobs
    FOR EACH ROW WHEN (NEW.status IS NULL OR NEW.status NOT IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'))
    EXECUTE FUNCTION govjobd.govjobd_guard_job_status();

-- Every CHECK of a table is read from the catalog and planned again for each statement that inserts into it
-- (two per job). The state machine's CHECK (0006) admits only moves to a known status: the column CHECK of
-- 0002 on to_status says less and goes. The one on from_status stays: it refuses '' (which the state
-- machine's coalesce would read as "none"). Rows inserted before 0006 were checked when they were inserted.
ALTER TABLE governance_job_transitions DROP CONSTRAINT IF EXISTS governance_job_transitions_to_status_check;
