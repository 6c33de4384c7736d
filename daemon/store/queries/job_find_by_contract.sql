-- $1 contract_id
SELECT job_id::text FROM governance_jobs WHERE contract_id = $1::uuid
