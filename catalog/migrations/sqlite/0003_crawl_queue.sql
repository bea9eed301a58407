-- Migration 3: crawl workers on other machines. The scheduler enqueues crawl
-- jobs; `agora worker` processes (on any host) take them; a worker that dies has
-- its job taken over. Runs record the host of their process, so that a process
-- is judged alive by its pid only on its own host.
ALTER TABLE runs ADD COLUMN host TEXT;

-- One crawl of one source to run: at most one queued or running job per source.
CREATE TABLE IF NOT EXISTS crawl_jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL,
    full_crawl   INTEGER NOT NULL DEFAULT 0,  -- 1: a full crawl whatever the source's incremental setting
    status       TEXT NOT NULL,               -- queued | running | done | failed
    enqueued_at  TEXT NOT NULL,
    enqueued_by  TEXT,                        -- who asked (the scheduler, an operator)
    not_before   TEXT,                        -- not taken before this time (a retry's delay)
    worker       TEXT,                        -- the worker running it, or that ran it
    claimed_at   TEXT,
    heartbeat_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,  -- times a worker took it (more than 1: taken over)
    run_id       INTEGER,                     -- the crawl run it started or resumed
    finished_at  TEXT,
    outcome      TEXT,                        -- the run's status (complete, partial, ...)
    message      TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS crawl_jobs_open ON crawl_jobs (source)
    WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS crawl_jobs_status ON crawl_jobs (status, id);

-- Every `agora worker` process, with its heartbeat: what `agora status` shows.
CREATE TABLE IF NOT EXISTS workers (
    id           TEXT PRIMARY KEY,            -- host:pid:random
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    sources      TEXT,                        -- the sources it crawls (JSON list), NULL: all
    state        TEXT NOT NULL,               -- idle | busy | stopped
    job_id       INTEGER,
    source       TEXT,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    stopped_at   TEXT,
    jobs_done    INTEGER NOT NULL DEFAULT 0
);
