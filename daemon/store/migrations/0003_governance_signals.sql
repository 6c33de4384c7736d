-- Governance signals recorded by the signal_record step type; append-only evidence like the transitions.
CREATE TABLE IF NOT EXISTS governance_signals (
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
CREATE INDEX IF NOT EXISTS governance_signals_scope_idx ON governance_signals (scope, recorded_at);
