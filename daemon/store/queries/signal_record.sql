-- $1 job_id, $2 contract_id, $3 step_index, $4 scope, $5 signal_type, $6 decision, $7 reason, $8 recorded_by.
-- One signal per job step: a step recorded again after a lost commit returns the same signal, and only when
-- it is the same signal (a job_id reused after retention must not pass off an old signal as its own).
WITH inserted AS (
    INSERT INTO govjobd.govjobd_signals (job_id, contract_id, step_index, scope, signal_type, decision, reason, recorded_by)
    VALUES ($1::uuid, nullif($2, '')::uuid, $3::int, $4, $5, $6, $7, $8)
    ON CONFLICT (job_id, step_index) DO NOTHING
    RETURNING signal_id
)
SELECT signal_id FROM inserted
UNION ALL
SELECT signal_id FROM govjobd.govjobd_signals
 WHERE job_id = $1::uuid AND step_index = $3::int AND scope = $4 AND signal_type = $5 AND decision = $6 AND reason = $7
LIMIT 1
