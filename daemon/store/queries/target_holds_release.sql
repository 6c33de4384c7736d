-- Target holds whose job is not RUNNING: those a claim took for a job it then left PENDING because another
-- claim got one of its other targets first, and any left by an end govjobd did not write. A hold commits
-- in the same statement as its job's claim, so one whose job this statement sees not RUNNING is nobody's.
-- Returns how many it released; a job left PENDING for one of them is NOTIFYed (migration 0013).
WITH released AS (
    DELETE FROM target_holds h
     WHERE NOT EXISTS (SELECT 1 FROM governance_jobs j WHERE j.job_id = h.job_id AND j.status = 'RUNNING')
    RETURNING h.waiting_job
)
SELECT count(*), count(pg_notify('govjobd_jobs', waiting_job::text)) FILTER (WHERE waiting_job IS NOT NULL)
  FROM released
