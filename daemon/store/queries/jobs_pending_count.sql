SELECT count(*) FROM governance_jobs WHERE status = 'PENDING'
