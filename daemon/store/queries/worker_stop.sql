-- $1 worker_id
UPDATE govjobd_workers SET stopped_at = now() AT TIME ZONE 'UTC' WHERE worker_id = $1
