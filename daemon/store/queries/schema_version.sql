SELECT coalesce(max(version), 0) FROM govjobd_schema_migrations
