-- Migration 2: the sources' public configuration, registered by the crawl side
-- (`agora crawl`, `agora schedule`, `agora import`, `agora sources status`) so
-- that the web app and the status pages read names, order and schedules from the
-- catalog instead of the sources file. Never a credential: the base URL is kept
-- without user, password, query or fragment.
CREATE TABLE IF NOT EXISTS sources (
    key           TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    position      INTEGER NOT NULL,              -- order in the sources file
    enabled       INTEGER NOT NULL DEFAULT 1,    -- 0 | 1
    schedule      TEXT,                          -- the schedule entry (JSON), or NULL
    base_url      TEXT,
    homepage      TEXT,
    registered_at TEXT NOT NULL
);
