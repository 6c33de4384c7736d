-- $1 also the ended ones (resumed, or past their until), $2 at most this many. Newest first.
SELECT pause_id, step_type, target_glob, pool, until, reason, paused_by, paused_at, resumed_by, resumed_at,
       govjobd.pause_active(resumed_at, until) AS active
  FROM pauses
 WHERE $1::bool OR govjobd.pause_active(resumed_at, until)
 ORDER BY pause_id DESC
 LIMIT $2::int
