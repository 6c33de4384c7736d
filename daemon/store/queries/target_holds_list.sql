-- $1 at most this many. The targets RUNNING jobs hold (worker.exclusive_targets), oldest first.
SELECT target, job_id::text, held_by, held_at
  FROM target_holds
 ORDER BY held_at, target
 LIMIT $1::int
