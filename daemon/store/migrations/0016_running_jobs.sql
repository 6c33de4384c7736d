-- Each daemon's heartbeat records the jobs it knows it runs (queries/worker_heartbeat.sql), and the reaper
-- leaves those alone while that heartbeat is fresh (queries/job_reap_candidates.sql). A heartbeat renews no
-- lease of a job row another session holds locked (the creating system's open transaction), so such a job's
-- lease can run out while its daemon is alive and running it: the list says it is not lost.
ALTER TABLE govjobd.govjobd_workers ADD COLUMN IF NOT EXISTS running_jobs uuid[];
