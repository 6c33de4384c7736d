-- govjobd's signal records live in govjobd.govjobd_signals: the creating system owns a table named
-- governance_signals (UPSTREAM_CONTRACT) with other columns and rules, and govjobd never reads, writes,
-- alters, moves or grants on it, in whatever schema it is. This is the one place that makes our table:
--   - a database migrated by an older govjobd has ours as govjobd.governance_signals (migration 3, moved
--     into govjobd by queries/schema_migrations_create.sql, guarded and granted by migration 9): it is
--     renamed, with its constraints, index and sequence, so rows, triggers, owner and grants follow it. Only
--     a table that is ours (owned by the migrating role or govjobd_owner, with govjobd's columns) is renamed;
--   - a fresh database, or one where an older migration 3 found the creator's table and made none, gets it here.
-- The guards, owner and grants are then (re)applied, so every path ends with the same table.
DO $$
DECLARE
    old_name constant text := 'governance_signals';
    o record;
BEGIN
    IF to_regclass('govjobd.govjobd_signals') IS NULL
       AND (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('govjobd.governance_signals'))
           IN (current_user, 'govjobd_owner')
       AND (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'govjobd' AND table_name = old_name
               AND column_name IN ('signal_id', 'job_id', 'step_index')) = 3 THEN
        ALTER TABLE govjobd.governance_signals RENAME TO govjobd_signals;
        FOR o IN SELECT conname FROM pg_constraint
                  WHERE conrelid = 'govjobd.govjobd_signals'::regclass AND starts_with(conname, old_name || '_') LOOP
            EXECUTE format('ALTER TABLE govjobd.govjobd_signals RENAME CONSTRAINT %I TO %I', o.conname,
                           'govjobd_signals' || substr(o.conname, length(old_name) + 1));
        END LOOP;
        -- what is left under the old name: the scope index and the identity sequence (a constraint's index
        -- was renamed with its constraint), once each: they depend on the table column by column
        FOR o IN SELECT DISTINCT c.relname, c.relkind FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  WHERE d.refobjid = 'govjobd.govjobd_signals'::regclass AND starts_with(c.relname, old_name || '_') LOOP
            EXECUTE format('ALTER %s govjobd.%I RENAME TO %I', CASE o.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'INDEX' END,
                           o.relname, 'govjobd_signals' || substr(o.relname, length(old_name) + 1));
        END LOOP;
    END IF;
END
$$;

-- Recorded by the signal_record step type; append-only evidence like the transitions.
CREATE TABLE IF NOT EXISTS govjobd.govjobd_signals (
    signal_id   bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      uuid         NOT NULL,
    contract_id uuid,
    step_index  int          NOT NULL,
    scope       text         NOT NULL,
    signal_type text         NOT NULL,
    decision    text         NOT NULL,
    reason      text         NOT NULL,
    recorded_by varchar(200) NOT NULL,
    recorded_at timestamp    NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    UNIQUE (job_id, step_index)
);
CREATE INDEX IF NOT EXISTS govjobd_signals_scope_idx ON govjobd.govjobd_signals (scope, recorded_at);

DROP TRIGGER IF EXISTS govjobd_guard_signals ON govjobd.govjobd_signals;
CREATE TRIGGER govjobd_guard_signals BEFORE UPDATE OR DELETE ON govjobd.govjobd_signals
    FOR EACH ROW EXECUTE FUNCTION govjobd.govjobd_guard_append_only();
DROP TRIGGER IF EXISTS govjobd_guard_signals_truncate ON govjobd.govjobd_signals;
CREATE TRIGGER govjobd_guard_signals_truncate BEFORE TRUNCATE ON govjobd.govjobd_signals
    FOR EACH STATEMENT EXECUTE FUNCTION govjobd.govjobd_guard_append_only();

ALTER TABLE govjobd.govjobd_signals OWNER TO govjobd_owner;
REVOKE ALL ON govjobd.govjobd_signals FROM PUBLIC;
GRANT SELECT, INSERT ON govjobd.govjobd_signals TO govjobd_daemon;
