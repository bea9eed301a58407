-- Migration 7: the normalize stage re-checks every listing changed since its last
-- watermark minus a safety margin (late commits, clocks of crawler workers apart):
-- a range that holds a whole import after one. Those listings are compared with
-- their clean rows on the content hash from the indexes alone (covering indexes),
-- without reading each listing's JSON; only the few that differ are then read.
DROP INDEX IF EXISTS listings_changed;
CREATE INDEX IF NOT EXISTS listings_changed_hash
    ON listings (changed_at, status, content_hash, source, source_id);
CREATE INDEX IF NOT EXISTS clean_listings_hash ON clean_listings (source, source_id, raw_hash);
