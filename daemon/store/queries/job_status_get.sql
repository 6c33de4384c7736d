-- $1 job_id
SELECT status FROM governance_jobs WHERE job_id = $1::uuid
