-- The state machine's guard, read for less (issue 20, measured in docs/benchmarks.md), same rule.
--
-- PostgreSQL reads a trigger's WHEN clause from the catalog and plans it again for every statement that
-- updates the table: each claim, each write, each heartbeat. The clause of migration 14 was 5,659 characters
-- of stored expression; this one, one comparison of the move against the moves allowed, is 2,068 (3 to 5 %
-- of the jobs/s at concurrency 1). It fires for every move the old clause fired for, and also for an update
-- of a row whose status is NULL or unknown that keeps it (which the function lets through, as before): the
-- function decides, and its rules and messages are unchanged. No allowed move names a NULL status: coalesce
-- makes it '', and '' never appears in the list, so "NULL -> x" and "x -> NULL" always fire. COLLATE "C":
-- compared byte for byte, whatever collation an adopted table's status column has (a nondeterministic one
-- that ignored punctuation would read 'PENDINGRUNNING' -> '' as an allowed move).
DROP TRIGGER IF EXISTS govjobd_guard_job_status ON governance_jobs;
CREATE TRIGGER govjobd_guard_job_status BEFORE UPDATE ON governance_jobs
    FOR EACH ROW WHEN ((coalesce(OLD.status, '') || '>' || coalesce(NEW.status, '')) COLLATE "C" <> ALL
                       ('{PENDING>PENDING,PENDING>RUNNING,PENDING>CANCELLED,RUNNING>RUNNING,RUNNING>COMPLETED,RUNNING>FAILED,RUNNING>CANCELLED}'))
    EXECUTE FUNCTION govjobd.govjobd_guard_job_status();
