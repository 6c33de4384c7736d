-- Retention (retention.keep_terminal) also deletes the rows of daemons gone longer than it keeps jobs
-- (queries/workers_delete_gone.sql): the daemon's role may now delete worker rows.
GRANT DELETE ON govjobd.govjobd_workers TO govjobd_daemon;
