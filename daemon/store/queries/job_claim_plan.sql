-- How queries/job_claim.sql is planned when it claims the oldest jobs, for its own transaction only
-- (set_config(..., true) is SET LOCAL): sent before the claim in the claim's message, one implicit transaction.
-- - One generic plan, kept until the plan cache drops it (an ANALYZE of a table it reads). No value changes
--   the claim's shape, and PostgreSQL's own
--   choice (`auto`) planned it again for every call once the statistics knew of a queue: for a claim of 4,
--   0.85 ms of planning against 0.46 ms of executing (docs/benchmarks.md).
-- - That plan walks the PENDING jobs in (created_at, job_id) order through their index whatever the statistics
--   say: with the other scans and the sorts switched off it is the plan left. Statistics behind a bulk insert
--   (100,000 jobs before autovacuum's next ANALYZE) had the generic plan sort every PENDING row for each claim:
--   200 ms a claim, and 550 to 660 ms with bitmap scans alone switched off. The sorts the claim cannot do
--   without (its few rows, by target and by age) stay.
-- A claim of one job by its id is not planned so: it keeps a custom plan, its primary-key lookup, which these
-- switches would trade for a walk of the queue.
-- With the contract gate on, the store adds govjobd.lock_contracts(table) to this statement, for every claim
-- (store_claim.cpp, claim_setting): the contracts table's lock, waited for a second at most (migration 24).
SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true),
       set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true),
       set_config('enable_incremental_sort', 'off', true)
