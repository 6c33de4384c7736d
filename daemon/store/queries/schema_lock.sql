-- Serialises migrations run by several hosts at once; released at commit.
SELECT pg_advisory_xact_lock(hashtext('govjobd.migrate'))
