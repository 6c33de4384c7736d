SELECT to_regclass('govjobd.govjobd_schema_migrations') IS NOT NULL
