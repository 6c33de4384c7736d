-- JSON that is never written out as text (queries/job_claim.sql, queries/job_get.sql): nested `levels` deep or
-- more, or holding a number past 1e300 or within 1e-300 of 0 (nearer the top than `levels`). jsonb keeps
-- 1e131071 in a few bytes and writes it out as 131,072 digits: 9,000 such numbers in a 2.5 kB row are a
-- gigabyte of text, and the server runs out of memory. A jsonpath walk stops at `levels` (one of 14,000 levels
-- runs out of PostgreSQL's stack). One test, in one place: the claim asks it of a job's steps (100 levels,
-- the steps parser's bound) and of each field of a step (98: the same depth within the steps), `jobs show` of
-- each column. A SQL function the planner inlines: with `levels` a constant its paths are built once, when
-- the statement is planned.
CREATE OR REPLACE FUNCTION govjobd.json_unwritable(value jsonb, levels integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_path_exists(value, ('strict $.**{' || levels::text || '}')::jsonpath)
        OR jsonb_path_exists(value, ('strict $.**{0 to ' || (levels - 1)::text || '} ? (@.type() == "number" && '
                                     '(@ > 1e300 || @ < -1e300 || (@ != 0 && @ < 1e-300 && @ > -1e-300)))')::jsonpath);
ALTER FUNCTION govjobd.json_unwritable(jsonb, integer) OWNER TO govjobd_owner;
REVOKE ALL ON FUNCTION govjobd.json_unwritable(jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govjobd.json_unwritable(jsonb, integer) TO govjobd_daemon, govjobd_writer;
