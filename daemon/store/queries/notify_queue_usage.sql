-- How full PostgreSQL's NOTIFY queue is, 0 to 1 (the whole cluster's, 8 GB), for `govjobd status` (the
-- daemon's gauge is the heartbeat's reading of the same function). Its tail is the oldest notification a
-- listening session has not read: one that LISTENs and then stays in a transaction, or whose client stops
-- reading, holds it. Once it is full every NOTIFY fails its transaction (docs/security.md lists govjobd's:
-- the creator's job inserts through govjobd's trigger, claims that unpark a scheduled start, an end that
-- releases a target a job waits on, the reaper's round, the sweep of stray holds, a wake's pass, a cancel,
-- a resume). From half full PostgreSQL's log warns, naming a process that holds it (at most every 5 s, while
-- NOTIFYs are sent).
SELECT pg_catalog.pg_notification_queue_usage()
