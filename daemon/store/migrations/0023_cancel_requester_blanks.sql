-- A cancel's requester: the blanks migration 20 looks past are every blank and invisible character, not only
-- ASCII's (a helper's audit, late 2026-12-05). In a database of the C collation (and for U+00A0, U+2007 and
-- U+202F in any glibc locale), [[:space:]] left out the no-break and other Unicode spaces: the writer's
-- 'govjobd' + U+00A0 + 'host-a' with the reason 'daemon shutdown' was taken, and the job's status_reason, step
-- error and CANCELLED transition read byte for byte as the daemon's own shutdown cancel but for that one
-- character. The same characters as the log's escape (daemon/log/logging.cpp, invisible()) count as blanks
-- here, before "govjobd", after it, and around a worker id (tag characters and variation selectors included).
CREATE OR REPLACE FUNCTION govjobd.job_cancel(job uuid, requested_by text, reason text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, govjobd, pg_temp AS $$
DECLARE
    -- one blank or invisible character (a regular expression's bracket expression)
    blank constant text := '[[:space:][:cntrl:]\u00a0\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160'
                            '\u1680\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164'
                            '\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffc\U000110bd\U000110cd\U00013430-\U0001343f'
                            '\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]';
    current_status text;
    cancel_text text;
BEGIN
    IF requested_by IS NULL OR reason IS NULL OR length(requested_by) NOT BETWEEN 1 AND 100
       OR length(reason) > 1000 THEN
        RETURN 'refused: requested_by (1 to 100 characters) and reason (at most 1000) are required';
    END IF;
    IF requested_by ~* ('^' || blank || '*(govjobd(' || blank || '|$)|reaper:)')
       OR EXISTS (SELECT 1 FROM govjobd_workers w
                   WHERE lower(w.worker_id) = lower(regexp_replace(job_cancel.requested_by, '^' || blank || '+|' || blank || '+$', '', 'g'))) THEN
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
