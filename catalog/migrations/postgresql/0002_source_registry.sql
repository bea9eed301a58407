-- Migration 2: the sources' public configuration, registered by the crawl side
-- (as ../sqlite/0002_source_registry.sql). Never a credential: the base URL is
-- kept without user, password, query or fragment.
CREATE TABLE sources (
    key           TEXT COLLATE "C" PRIMARY KEY,
    name          TEXT COLLATE "C" NOT NULL,
    position      BIGINT NOT NULL,                  -- order in the sources file
    enabled       BIGINT NOT NULL DEFAULT 1,        -- 0 | 1
    schedule      TEXT COLLATE "C",                 -- the schedule entry (JSON), or NULL
    base_url      TEXT COLLATE "C",
    homepage      TEXT COLLATE "C",
    registered_at TEXT COLLATE "C" NOT NULL
);
