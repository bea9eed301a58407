-- The catalog: sources' crawl runs, raw listings as published, and what later
-- stages derive from them. One SQLite file in WAL mode under AGORA_HOME.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per crawl (or import) of one source.
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'crawl',      -- crawl | import
    mode         TEXT NOT NULL DEFAULT 'full',       -- full | incremental
    status       TEXT NOT NULL,                      -- running | complete | partial | failed | degraded
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    heartbeat_at TEXT,
    pid          INTEGER,
    resumed      INTEGER NOT NULL DEFAULT 0,         -- times a killed run was resumed
    pages        INTEGER NOT NULL DEFAULT 0,
    listings     INTEGER NOT NULL DEFAULT 0,
    new          INTEGER NOT NULL DEFAULT 0,
    updated      INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    gone         INTEGER NOT NULL DEFAULT 0,
    errors       INTEGER NOT NULL DEFAULT 0,
    checkpoint   TEXT,                               -- connector state (JSON) to resume from
    stats        TEXT,                               -- JSON: errors by kind, field fill rates...
    message      TEXT
);
CREATE INDEX IF NOT EXISTS runs_source ON runs (source, id);

-- The current state of every listing ever seen: one row per (source, source_id).
CREATE TABLE IF NOT EXISTS listings (
    source       TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    url          TEXT,
    data         TEXT NOT NULL,                      -- the listing in the contract (JSON)
    content_hash TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'live',       -- live | gone
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    changed_at   TEXT NOT NULL,
    first_run    INTEGER,
    last_run     INTEGER,
    gone_run     INTEGER,
    gone_at      TEXT,
    PRIMARY KEY (source, source_id)
);
CREATE INDEX IF NOT EXISTS listings_last_run ON listings (source, last_run);
CREATE INDEX IF NOT EXISTS listings_changed ON listings (changed_at);

-- What happened to listings run after run (new, updated, gone, returned).
CREATE TABLE IF NOT EXISTS listing_events (
    run_id    INTEGER NOT NULL,
    source    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    event     TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS listing_events_run ON listing_events (run_id);
CREATE INDEX IF NOT EXISTS listing_events_listing ON listing_events (source, source_id);

-- Pages whose listings are stored, so that a killed run resumes without refetching them.
CREATE TABLE IF NOT EXISTS run_pages (
    run_id INTEGER NOT NULL,
    url    TEXT NOT NULL,
    PRIMARY KEY (run_id, url)
);

-- Every page or record a run could not use, with its URL and why.
CREATE TABLE IF NOT EXISTS crawl_errors (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  INTEGER NOT NULL,
    source  TEXT NOT NULL,
    url     TEXT,
    kind    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crawl_errors_run ON crawl_errors (run_id);
