-- Before any migration: govjobd's own objects live in the schema govjobd, owned by the role that migrates or
-- by govjobd_owner, nobody else (a schema the job writer made in advance would let it replace our objects).
-- Objects of a database migrated before that schema existed are moved into it from the jobs table's
-- schema: our tables and our trigger functions (the triggers follow them), each only when owned by one of
-- those roles, so that a look-alike someone else made there is never adopted. Our signals table had the name
-- governance_signals, which the creating system uses for a table of its own: it moves only when it has
-- govjobd's columns and we have no govjobd_signals yet (migration 10 then renames it); the creator's is never
-- touched. Then the bookkeeping table.
-- governance_jobs, unqualified, means the jobs table in its configured schema (see sql_files.hpp).
DO $$
DECLARE
    t text;
    f text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'govjobd'
                AND pg_get_userbyid(nspowner) NOT IN (current_user, 'govjobd_owner')) THEN
        RAISE EXCEPTION 'schema govjobd exists and belongs to %, not to this role: govjobd will not use a schema someone else owns',
            (SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'govjobd') USING ERRCODE = 'GJ004';
    END IF;
    CREATE SCHEMA IF NOT EXISTS govjobd;
    FOREACH t IN ARRAY ARRAY['govjobd_schema_migrations', 'governance_job_transitions', 'govjobd_workers',
                             'governance_signals'] LOOP
        IF (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass(format('%I.%I', @jobs_schema_literal@, t)))
               IN (current_user, 'govjobd_owner')
           AND to_regclass(format('govjobd.%I', t)) IS NULL
           AND (t <> 'governance_signals' OR (
                   to_regclass('govjobd.govjobd_signals') IS NULL
                   AND (SELECT count(*) FROM information_schema.columns
                         WHERE table_schema = @jobs_schema_literal@ AND table_name = t
                           AND column_name IN ('signal_id', 'job_id', 'step_index')) = 3)) THEN
            EXECUTE format('ALTER TABLE %I.%I SET SCHEMA govjobd', @jobs_schema_literal@, t);
        END IF;
    END LOOP;
    FOREACH f IN ARRAY ARRAY['govjobd_guard_job_status', 'govjobd_guard_transitions', 'govjobd_notify_pending',
                             'govjobd_notify_cancel'] LOOP
        IF (SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = to_regprocedure(format('%I.%I()', @jobs_schema_literal@, f)))
               IN (current_user, 'govjobd_owner')
           AND to_regprocedure(format('govjobd.%I()', f)) IS NULL THEN
            EXECUTE format('ALTER FUNCTION %I.%I() SET SCHEMA govjobd', @jobs_schema_literal@, f);
        END IF;
    END LOOP;
END
$$;
CREATE TABLE IF NOT EXISTS govjobd.govjobd_schema_migrations (
    version         int       PRIMARY KEY,
    name            text      NOT NULL,
    applied_at      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    govjobd_version text      NOT NULL
)
