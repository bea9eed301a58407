-- Migration 6: what an incremental build asks of the catalog, found without
-- reading every row (a table scan reads every listing's JSON): the listings gone
-- since a time (normalize drops their clean rows) and the clean listings the
-- matcher has not linked as they are (partial indexes: only those rows are in them).
CREATE INDEX IF NOT EXISTS listings_gone ON listings (gone_at) WHERE status = 'gone';
CREATE INDEX IF NOT EXISTS clean_listings_unlinked ON clean_listings (source, source_id)
    WHERE linked_hash IS NULL OR linked_hash != raw_hash;
