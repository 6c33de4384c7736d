-- $1 step type, $2 target glob, $3 pool (each NULL: any), $4 until (a UTC time) or $5 until in so many ms from
-- the database's now (both NULL: until resumed), $6 reason, $7 paused_by.
-- A pause (govjobd pause, docs/fleet.md): no claim takes a job it matches (job_claim.sql); running jobs finish.
-- No row when the end it asks for is not in the future (by the database's clock, the one claims read).
WITH asked AS (
    SELECT coalesce($4::timestamp, (now() AT TIME ZONE 'UTC') + make_interval(secs => $5::bigint / 1000.0)) AS until
)
INSERT INTO pauses (step_type, target_glob, pool, until, reason, paused_by)
SELECT $1, $2, $3, a.until, $6, $7
  FROM asked a
 WHERE a.until IS NULL OR a.until > now() AT TIME ZONE 'UTC'
RETURNING pause_id
