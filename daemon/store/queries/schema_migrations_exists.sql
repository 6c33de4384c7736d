SELECT to_regclass('govjobd_schema_migrations') IS NOT NULL
