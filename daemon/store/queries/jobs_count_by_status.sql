-- How many jobs are in each status.
SELECT status, count(*) FROM governance_jobs GROUP BY status
