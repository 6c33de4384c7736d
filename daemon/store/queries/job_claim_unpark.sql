-- The contract gate on: the unparked CTE of queries/job_claim.sql (@claim.unpark@), a claim of the oldest jobs'
-- or of one by its id. Parked jobs whose opening came, claimable from the next claim on (the claim's snapshot
-- still sees them parked). Not the job the claim asks for by its id: one statement updates a row once.
UPDATE governance_jobs j SET window_opens_at = NULL
 WHERE j.job_id IN (SELECT q.job_id FROM governance_jobs q
                     WHERE q.status = 'PENDING' AND q.window_opens_at IS NOT NULL
                       AND q.window_opens_at <= now() AT TIME ZONE 'UTC'
                       AND q.job_id IS DISTINCT FROM $6::uuid
                     ORDER BY q.window_opens_at, q.job_id
                     LIMIT 1000
                       FOR UPDATE SKIP LOCKED)
RETURNING j.job_id
