-- $1 version, $2 file name, $3 govjobd version
INSERT INTO govjobd_schema_migrations (version, name, govjobd_version) VALUES ($1::int, $2, $3)
