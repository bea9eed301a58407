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

-- Normalized listings (the normalizer's output), one per live listing.
CREATE TABLE IF NOT EXISTS clean_listings (
    source     TEXT NOT NULL,
    source_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    raw_hash   TEXT NOT NULL,          -- content_hash of the raw listing it was made from
    data       TEXT NOT NULL,          -- the clean listing (JSON)
    flags      INTEGER NOT NULL DEFAULT 0,
    linked_hash TEXT,                  -- raw_hash when the matcher last linked it
    PRIMARY KEY (source, source_id)
);

-- Each build (normalize + dedup [+ index]) of the catalog.
CREATE TABLE IF NOT EXISTS builds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    mode        TEXT NOT NULL,         -- full | incremental
    status      TEXT NOT NULL,         -- running | complete | failed
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    stats       TEXT
);

-- Merged entities (shops, offers, products) with every source kept.
CREATE TABLE IF NOT EXISTS entities (
    entity_id  TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,          -- the merged record (JSON)
    build_id   INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_kind ON entities (kind);
DROP INDEX IF EXISTS entities_product;

-- Which listing belongs to which entity.
CREATE TABLE IF NOT EXISTS entity_members (
    source    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    kind      TEXT NOT NULL,           -- shop | offer | product
    entity_id TEXT NOT NULL,
    PRIMARY KEY (source, source_id)
);
CREATE INDEX IF NOT EXISTS entity_members_entity ON entity_members (entity_id);

-- Offers grouped into products (GTIN, or brand + title + variant): a narrow copy of
-- what a product record aggregates, so an incremental build never decodes every offer.
CREATE TABLE IF NOT EXISTS product_offers (
    offer_id   TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    shop_id    TEXT,
    price_min  INTEGER,
    price_max  INTEGER,
    platforms  TEXT NOT NULL           -- comma-separated platform keys
);
CREATE INDEX IF NOT EXISTS product_offers_product ON product_offers (product_id);

-- Platforms each shop was on at each build: overlap over time.
CREATE TABLE IF NOT EXISTS build_presence (
    build_id  INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    platform  TEXT NOT NULL,
    entity_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS build_presence_build ON build_presence (build_id);

-- Blocking keys of every clean listing, so that an incremental build finds the
-- neighbours of a changed listing without loading everything.
CREATE TABLE IF NOT EXISTS block_keys (
    block     TEXT NOT NULL,
    source    TEXT NOT NULL,
    source_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS block_keys_block ON block_keys (block);
CREATE INDEX IF NOT EXISTS block_keys_listing ON block_keys (source, source_id);

-- Matching statistics kept between builds (word frequencies).
CREATE TABLE IF NOT EXISTS match_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Pairs in the uncertain band of the last build, for `agora review`.
CREATE TABLE IF NOT EXISTS review_pairs (
    kind        TEXT NOT NULL,
    a           TEXT NOT NULL,         -- listing key source:source_id
    b           TEXT NOT NULL,
    score       REAL NOT NULL,
    build_id    INTEGER NOT NULL,
    PRIMARY KEY (a, b)
);

CREATE INDEX IF NOT EXISTS review_pairs_b ON review_pairs (b);

-- Reviewers' decisions; every later build respects them.
CREATE TABLE IF NOT EXISTS review_decisions (
    a        TEXT NOT NULL,
    b        TEXT NOT NULL,
    decision TEXT NOT NULL,            -- merge | split
    note     TEXT,
    at       TEXT NOT NULL,
    PRIMARY KEY (a, b)
);

-- The version a listing had before a run changed it, kept until the run ends, so
-- that a run found degraded (a broken selector) can put its listings back.
CREATE TABLE IF NOT EXISTS listing_history (
    run_id       INTEGER NOT NULL,
    source       TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    url          TEXT,
    data         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    status       TEXT NOT NULL,
    changed_at   TEXT NOT NULL,
    gone_run     INTEGER,
    gone_at      TEXT,
    PRIMARY KEY (run_id, source, source_id)
);

-- The scheduler's plan and memory per source (`agora schedule`), readable by the
-- status command and the operator page: times are UTC ISO 8601.
CREATE TABLE IF NOT EXISTS schedule_state (
    source           TEXT PRIMARY KEY,
    schedule         TEXT NOT NULL,     -- the schedule entry (JSON) the plan was made from
    slot_at          TEXT,              -- nominal time of the next run, before jitter
    next_run_at      TEXT,              -- when the next run is due
    last_started_at  TEXT,
    last_finished_at TEXT,
    last_run_id      INTEGER,
    last_status      TEXT,              -- the run's status, or interrupted | skipped | error
    last_build_id    INTEGER,
    last_message     TEXT,
    updated_at       TEXT NOT NULL
);

-- Advisory locks shared by every process on the catalog: 'scheduler' (one
-- `agora schedule` per catalog), 'crawl:<source>' (never two runs of a source),
-- 'build'. A lock whose process is gone or whose heartbeat is stale is taken over.
CREATE TABLE IF NOT EXISTS locks (
    name         TEXT PRIMARY KEY,
    pid          INTEGER NOT NULL,
    host         TEXT NOT NULL,
    owner        TEXT NOT NULL,          -- which holder in the process (a thread, a job)
    acquired_at  TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);
