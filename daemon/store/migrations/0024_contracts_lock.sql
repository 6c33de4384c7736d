-- The contracts table's lock, taken for a claim with the gate on, waiting at most a second (a helper's audit,
-- late 2026-12-05; docs/security.md, 13). The creator's login may lock its own table (LOCK TABLE, an ALTER
-- TABLE in a long transaction). A claim joined to a write batch shares its transaction, and it waited for that
-- lock for the connection's lock_timeout, 30 s, then ran again, while the batch's ends and the heartbeat behind
-- them waited too. The claim (queries/job_claim_plan.sql), the preparation of its statement, the window pass
-- and the queue's status take the table's lock first through this function: past a second it fails with
-- GJ006, which the daemon tells apart from any other lock wait (a hold another claim is inserting, the NOTIFY
-- queue at a commit: those keep the connection's bound). The second is the function's own setting: the
-- statements after the call run under the connection's lock_timeout again.
CREATE OR REPLACE FUNCTION govjobd.lock_contracts(contracts regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, govjobd, pg_temp SET lock_timeout = '1s' AS $$
BEGIN
    -- a read of no row and no column takes ACCESS SHARE to the transaction's end, as LOCK TABLE would, but with
    -- the grant the claim needs (SELECT on its columns; LOCK TABLE asks for SELECT on the whole table)
    EXECUTE format('SELECT FROM %s LIMIT 0', contracts);
EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'the contracts table % is locked by another session (a LOCK TABLE, a long transaction): no claim waits for it more than a second', contracts
        USING ERRCODE = 'GJ006';
END
$$;
ALTER FUNCTION govjobd.lock_contracts(regclass) OWNER TO govjobd_owner;
REVOKE ALL ON FUNCTION govjobd.lock_contracts(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govjobd.lock_contracts(regclass) TO govjobd_daemon;
