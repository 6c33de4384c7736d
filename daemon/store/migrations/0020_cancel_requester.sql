-- A cancel may not be signed with a name the daemon signs its own ends with (a helper's audit of the
-- writer's powers, 2026-12-05). govjobd.job_cancel() took any requested_by: the writer could cancel a job
-- "by govjobd vm:1790" with the reason "daemon shutdown", and its row then read word for word as the daemon's
-- own shutdown cancel ("cancelled by govjobd <worker>: daemon shutdown"), a RUNNING job's too, since its
-- daemon writes the request's name into its end. Refused now: a name that, past any leading blanks or control
-- characters and in any case, is "govjobd" or starts with "govjobd" and a blank or control character, or with
-- "reaper:" (how the daemon and its reaper sign), or that is a daemon's worker_id (any case).
CREATE OR REPLACE FUNCTION govjobd.job_cancel(job uuid, requested_by text, reason text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, govjobd, pg_temp AS $$
DECLARE
    current_status text;
    cancel_text text;
BEGIN
    IF requested_by IS NULL OR reason IS NULL OR length(requested_by) NOT BETWEEN 1 AND 100
       OR length(reason) > 1000 THEN
        RETURN 'refused: requested_by (1 to 100 characters) and reason (at most 1000) are required';
    END IF;
    IF requested_by ~* '^[[:space:][:cntrl:]]*(govjobd([[:space:][:cntrl:]]|$)|reaper:)'
       OR EXISTS (SELECT 1 FROM govjobd_workers w
                   WHERE lower(w.worker_id) = lower(btrim(job_cancel.requested_by, E' \t\r\n'))) THEN
        RETURN 'refused: requested_by may not be a name govjobd signs with (govjobd ..., reaper:..., a worker id)';
    END IF;
    cancel_text := format('cancelled by %s: %s', requested_by, reason);
    UPDATE governance_jobs j
       SET status = 'CANCELLED', status_reason = cancel_text, completed_at = now() AT TIME ZONE 'UTC',
           cancel_requested_at = now() AT TIME ZONE 'UTC', cancel_requested_by = job_cancel.requested_by,
           cancel_reason = job_cancel.reason
     WHERE j.job_id = job AND j.status = 'PENDING';
    IF FOUND THEN
        INSERT INTO governance_job_transitions (job_id, from_status, to_status, step_index, reason, transitioned_by,
                                                transitioned_at)
        VALUES (job, 'PENDING', 'CANCELLED', NULL, cancel_text, job_cancel.requested_by, now() AT TIME ZONE 'UTC');
        RETURN 'CANCELLED';
    END IF;
    SELECT j.status INTO current_status FROM governance_jobs j WHERE j.job_id = job;  -- no lock
    IF NOT FOUND THEN
        RETURN 'not found';
    ELSIF current_status = 'RUNNING' THEN
        INSERT INTO cancel_requests (job_id, requested_by, reason)
        VALUES (job, job_cancel.requested_by, job_cancel.reason)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN 'RUNNING and already has a cancel request';
        END IF;
        PERFORM pg_notify('govjobd_cancel', job::text);
        RETURN 'REQUESTED';
    ELSIF current_status = 'PENDING' THEN
        RETURN 'PENDING and being claimed; try again';
    END IF;
    RETURN format('%s, a terminal state; nothing to cancel', current_status);
END
$$;
ALTER FUNCTION govjobd.job_cancel(uuid, text, text) OWNER TO govjobd_owner;
REVOKE ALL ON FUNCTION govjobd.job_cancel(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govjobd.job_cancel(uuid, text, text) TO govjobd_writer, govjobd_daemon;
