-- Migration 4: the web app's rate-limit counters, shared by every gunicorn worker
-- (catalog.ratelimit, through the `limits` library's storage interface). One row
-- per window of one client on one route class: `key` is the library's
-- (LIMITER/<client>/<class>/<amount>/<multiples>/<granularity>[/<window>]). A row
-- whose expires_at has passed counts for nothing and is purged. The only table the
-- web app writes.
CREATE TABLE IF NOT EXISTS rate_limits (
    key        TEXT PRIMARY KEY,
    hits       INTEGER NOT NULL,
    expires_at REAL NOT NULL            -- Unix time, seconds
);
CREATE INDEX IF NOT EXISTS rate_limits_expires_at ON rate_limits(expires_at);
