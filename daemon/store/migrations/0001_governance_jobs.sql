-- governance_jobs belongs to the system that creates jobs. Create it when absent, with exactly the columns
-- that system knows (its model's NOT NULLs, and its client-side defaults as column defaults so that a plain
-- SQL insert may leave them out); when it already exists (possibly holding rows), adopt it as it is, never
-- altering it, and only check that every column govjobd relies on is there with the expected type.
CREATE TABLE IF NOT EXISTS governance_jobs (
    job_id                 uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
    contract_id            uuid         NOT NULL UNIQUE,
    status                 varchar(20)  NOT NULL DEFAULT 'PENDING',
    status_reason          text,
    steps                  jsonb        NOT NULL DEFAULT '[]'::jsonb,
    current_step_index     int          NOT NULL DEFAULT 0,
    total_steps            int          NOT NULL DEFAULT 0,
    step_results           jsonb        NOT NULL DEFAULT '[]'::jsonb,
    execution_evidence     jsonb,
    health_snapshot_before jsonb,
    health_snapshot_after  jsonb,
    created_at             timestamp    NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    started_at             timestamp,
    completed_at           timestamp,
    timeout_at             timestamp,
    created_by             varchar(100) NOT NULL DEFAULT 'system'
);

DO $$
DECLARE
    expected constant text[][] := ARRAY[
        ['job_id', 'uuid'], ['contract_id', 'uuid'], ['status', 'character varying'],
        ['status_reason', 'text'], ['steps', 'jsonb'], ['current_step_index', 'integer'],
        ['total_steps', 'integer'], ['step_results', 'jsonb'], ['execution_evidence', 'jsonb'],
        ['health_snapshot_before', 'jsonb'], ['health_snapshot_after', 'jsonb'],
        ['created_at', 'timestamp without time zone'], ['started_at', 'timestamp without time zone'],
        ['completed_at', 'timestamp without time zone'], ['timeout_at', 'timestamp without time zone'],
        ['created_by', 'character varying']];
    problems text := '';
    found text;
BEGIN
    FOR i IN 1 .. array_length(expected, 1) LOOP
        SELECT data_type INTO found FROM information_schema.columns
         WHERE table_schema = @jobs_schema_literal@ AND table_name = 'governance_jobs'
           AND column_name = expected[i][1];
        IF found IS NULL THEN
            problems := problems || format(' column %s is missing;', expected[i][1]);
        ELSIF found <> expected[i][2] THEN
            problems := problems || format(' column %s is %s, expected %s;', expected[i][1], found, expected[i][2]);
        END IF;
    END LOOP;
    IF problems <> '' THEN
        RAISE EXCEPTION 'existing table governance_jobs cannot be adopted:%', problems;
    END IF;
END
$$;

CREATE INDEX IF NOT EXISTS governance_jobs_status_created_at_idx ON governance_jobs (status, created_at);
CREATE INDEX IF NOT EXISTS governance_jobs_status_timeout_at_idx ON governance_jobs (status, timeout_at);
