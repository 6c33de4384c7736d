-- $1 pause_id (NULL: every active pause), $2 resumed_by.
-- Ends pauses (govjobd resume) and wakes every daemon to claim at once (notifications in one transaction
-- are delivered once). Rows: each pause resumed (ended_at NULL); for $1 already ended, its end instead (the
-- statement's snapshot predates its own update, so a pause just resumed is not listed twice); none: no such pause.
WITH resumed AS (
    UPDATE pauses
       SET resumed_at = now() AT TIME ZONE 'UTC', resumed_by = $2
     WHERE resumed_at IS NULL AND ($1::bigint IS NULL OR pause_id = $1::bigint)
    RETURNING pause_id
)
SELECT r.pause_id, NULL::text AS ended_by, NULL::timestamp AS ended_at
  FROM resumed r CROSS JOIN LATERAL (SELECT pg_notify('govjobd_jobs', '')) wake
UNION ALL
SELECT p.pause_id, p.resumed_by, p.resumed_at
  FROM pauses p
 WHERE p.pause_id = $1::bigint AND p.resumed_at IS NOT NULL
 ORDER BY 1
