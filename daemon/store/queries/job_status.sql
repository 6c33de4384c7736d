-- $1 job_id. Its status; no row when the job does not exist (`jobs watch` stops then).
SELECT status FROM governance_jobs WHERE job_id = $1::uuid
