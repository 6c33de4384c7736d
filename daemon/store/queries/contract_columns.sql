-- $1 the contracts table as the claim names it (quoted, schema-qualified), $2 its configured columns (text[]).
-- At daemon start with the contract gate on, one row per configured column, in order: whether the table
-- exists, whether this role may use its schema, the column's type (NULL: no such column), whether this
-- role may read the column, the role's name (for the GRANT an operator must give), and what makes the
-- relation one a daemon does not read (NULL: nothing). The table is the creator's: code its owner attaches to
-- a read (a view's query, row security policies, rules) would run with the daemon's rights, and sessions run
-- with row_security off, where a policy makes every read fail.
SELECT n.name, t.oid IS NOT NULL, coalesce(has_schema_privilege(c.relnamespace, 'USAGE'), false),
       format_type(a.atttypid, NULL), coalesce(has_column_privilege(t.oid, a.attnum, 'SELECT'), false), current_user::text,
       CASE WHEN c.relkind NOT IN ('r', 'p')
            THEN format('a %s, not a table', CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                                                            WHEN 'f' THEN 'foreign table' ELSE 'relation' END)
            WHEN c.relrowsecurity THEN 'a table with row level security enabled'
            WHEN EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = c.oid) THEN 'a table with rules' END
  FROM (SELECT to_regclass($1) AS oid) t
  LEFT JOIN pg_class c ON c.oid = t.oid
 CROSS JOIN unnest($2::text[]) WITH ORDINALITY n(name, i)
  LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = n.name AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY n.i
