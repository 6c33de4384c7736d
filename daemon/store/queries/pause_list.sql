-- $1 also the ended ones (resumed, or past their until), $2 at most this many. Newest first.
SELECT pause_id, step_type, target_glob, pool, until, reason, paused_by, paused_at, resumed_by, resumed_at,
       resumed_at IS NULL AND (until IS NULL OR until > now() AT TIME ZONE 'UTC') AS active
  FROM pauses
 WHERE $1::bool OR (resumed_at IS NULL AND (until IS NULL OR until > now() AT TIME ZONE 'UTC'))
 ORDER BY pause_id DESC
 LIMIT $2::int
