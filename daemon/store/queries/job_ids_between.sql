-- $1, $2 the lowest and highest job_id a prefix stands for. At most two: one is a match, two an ambiguity
-- (`jobs show` and `jobs watch` take the 8-character ids `jobs list` prints). The primary key's index answers.
SELECT job_id::text FROM governance_jobs WHERE job_id BETWEEN $1::uuid AND $2::uuid ORDER BY job_id LIMIT 2
