-- Once made govjobd's signals table under the name governance_signals, which the creating system uses for a
-- table of its own. Migration 10 makes govjobd.govjobd_signals, and renames the table this migration made in
-- databases migrated by an older govjobd; on a new database this migration does nothing.
SELECT 1
