CREATE TABLE IF NOT EXISTS govjobd_schema_migrations (
    version         int       PRIMARY KEY,
    name            text      NOT NULL,
    applied_at      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    govjobd_version text      NOT NULL
)
