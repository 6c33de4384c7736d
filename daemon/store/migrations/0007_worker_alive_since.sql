-- alive_since: when the worker's current unbroken run of heartbeats began (its registration, or the first
-- heartbeat after a gap longer than its lease). The reaper uses it to tell a dead worker from a database
-- outage or stall that silenced everyone: see queries/job_reap_candidates.sql.
ALTER TABLE govjobd_workers ADD COLUMN IF NOT EXISTS alive_since timestamp;
UPDATE govjobd_workers SET alive_since = heartbeat_at WHERE alive_since IS NULL;
