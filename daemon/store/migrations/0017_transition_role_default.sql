-- Who wrote a transition, at no call per row (issue 20, measured in docs/benchmarks.md), same rule.
--
-- Since migration 9 every transition row called govjobd_stamp_transition(), which sets recorded_by_role to
-- current_user. Its pinned search_path makes each call save, set and restore that setting: two calls per job
-- (its claim, its end), 8 to 25 % of the jobs/s at concurrency 1. The column's default now records the
-- inserting role, and the trigger fires only when a row names another role, which it overwrites as before:
-- the default and the WHEN clause are bound when they are created (no search_path applies), and a row that
-- names a role still cannot claim an author. Inside govjobd.job_cancel() both give its owner, as before.
ALTER TABLE govjobd.governance_job_transitions ALTER COLUMN recorded_by_role SET DEFAULT CURRENT_USER;
DROP TRIGGER IF EXISTS govjobd_stamp_transition ON govjobd.governance_job_transitions;
CREATE TRIGGER govjobd_stamp_transition
    BEFORE INSERT ON govjobd.governance_job_transitions
    FOR EACH ROW WHEN (NEW.recorded_by_role IS DISTINCT FROM CURRENT_USER)
    EXECUTE FUNCTION govjobd.govjobd_stamp_transition();
