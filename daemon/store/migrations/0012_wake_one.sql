-- Wake one daemon, not the fleet (docs/fleet.md, "Who claims a new job"): a statement that inserts exactly
-- one PENDING job names it in its NOTIFY, so that the daemon ranked first for it (rendezvous hashing over
-- the live workers) claims it and the others do not; a statement that inserts several still wakes every
-- daemon with an empty payload. Daemons of earlier versions claim on any payload, as before.
CREATE OR REPLACE FUNCTION govjobd.govjobd_notify_pending() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, govjobd, pg_temp AS $$
DECLARE
    first_job uuid;
    pending bigint;
BEGIN
    SELECT (array_agg(s.job_id))[1], count(*) INTO first_job, pending
      FROM (SELECT i.job_id FROM inserted_jobs i WHERE i.status = 'PENDING' LIMIT 2) s;
    IF pending = 1 THEN
        PERFORM pg_notify('govjobd_jobs', first_job::text);
    ELSIF pending > 1 THEN
        PERFORM pg_notify('govjobd_jobs', '');
    END IF;
    RETURN NULL;
END
$$;

-- Whether a worker row is a live daemon of this version or later: not stopped, a heartbeat within the lease,
-- and what it serves recorded (a daemon older than 0011 records nothing and neither routes nor passes wakes).
-- One rule for the jobs nobody serves, "why is it waiting" and the ranks of a new job's wake.
CREATE OR REPLACE FUNCTION govjobd.worker_live(stopped_at timestamp, heartbeat_at timestamp, serves_step_types text[],
                                               lease_ms bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN stopped_at IS NULL AND serves_step_types IS NOT NULL
       AND heartbeat_at > (now() AT TIME ZONE 'UTC') - make_interval(secs => lease_ms / 1000.0);
