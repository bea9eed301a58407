-- Migration 4: the web app's rate-limit counters, shared by every gunicorn worker of
-- every web machine (catalog.ratelimit, through the `limits` library's storage
-- interface). One row per window of one client on one route class: `key` is the
-- library's (LIMITER/<client>/<class>/<amount>/<multiples>/<granularity>[/<window>]).
-- A row whose expires_at has passed counts for nothing and is purged. UNLOGGED:
-- counters of the last minutes need no crash safety nor replication, and skip the WAL.
-- The only table the web app writes: its role needs SELECT, INSERT, UPDATE, DELETE
-- here and SELECT elsewhere.
CREATE UNLOGGED TABLE IF NOT EXISTS rate_limits (
    key        TEXT PRIMARY KEY,
    hits       BIGINT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL  -- Unix time, seconds
);
CREATE INDEX IF NOT EXISTS rate_limits_expires_at ON rate_limits(expires_at);
