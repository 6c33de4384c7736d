-- A transition row records a move of the state machine, nothing else: the job's creation (none -> PENDING),
-- PENDING -> RUNNING | CANCELLED, RUNNING -> COMPLETED | FAILED | CANCELLED. A row written by hand that
-- claims any other move (COMPLETED -> RUNNING, say) is refused by the database. NOT VALID: rows from before
-- this migration are not re-checked, so adopting an old table never fails here; every new row is.
ALTER TABLE governance_job_transitions DROP CONSTRAINT IF EXISTS governance_job_transitions_state_machine;
ALTER TABLE governance_job_transitions ADD CONSTRAINT governance_job_transitions_state_machine CHECK (
    coalesce(from_status, '') || '>' || to_status IN (
        '>PENDING', 'PENDING>RUNNING', 'PENDING>CANCELLED', 'RUNNING>COMPLETED', 'RUNNING>FAILED', 'RUNNING>CANCELLED')
) NOT VALID;
