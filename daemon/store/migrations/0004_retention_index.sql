-- Retention deletes terminal jobs by completed_at in small batches; this keeps each batch an index scan.
CREATE INDEX IF NOT EXISTS governance_jobs_terminal_completed_idx
    ON governance_jobs (completed_at) WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED');
