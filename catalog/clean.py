"""Clean listings: the normalizer's output, one per live raw listing.

``CleanStore`` (``catalog.clean``) hands the normalize stage the raw listings
whose content changed since they were last normalized, stores what it made of
them, and tells the matcher which ones changed since they were last linked
(``linked_hash``: the raw content the matcher last saw). Listings are keyed
``(source, source_id)``; clean listings go in and out as dicts (the
normalizer's ``to_dict`` form).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from catalog.engine import Engine, chunks, decode_json, pair_values

CLEAN_COLUMNS = ("source", "source_id", "kind", "raw_hash", "data", "flags")


class RawListing(NamedTuple):
    """A raw listing to normalize: its key, its data in the contract and its content hash."""

    source: str
    source_id: str
    data: dict[str, Any]
    content_hash: str


class CleanRow(NamedTuple):
    """A clean listing to store, with the hash of the raw content it was made from."""

    source: str
    source_id: str
    kind: str
    raw_hash: str
    data: dict[str, Any]
    flags: int


class CleanStore:
    """The ``clean_listings`` table."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def to_normalize(self, since: str | None = None) -> list[RawListing]:
        """Live raw listings whose clean row is missing or made from other content.

        ``since`` (an ISO time) looks only at listings changed at or after it. The
        listings to normalize are found from the indexes alone (listings_changed_hash,
        clean_listings_hash: the hashes of every listing in the range are compared
        without reading its JSON), then only those are read.
        """
        sql = ("SELECT l.source, l.source_id FROM listings l "
               "LEFT JOIN clean_listings c ON c.source = l.source AND c.source_id = l.source_id "
               "WHERE l.status = 'live' AND (c.raw_hash IS NULL OR c.raw_hash != l.content_hash)")
        args: tuple[Any, ...] = ()
        if since:
            sql += " AND l.changed_at >= ?"
            args = (since,)
        # sorted here, not by the query: ORDER BY would walk every listing in key order
        # instead of the few changed since ``since``
        keys = sorted((r[0], r[1]) for r in self.db.query(sql, args))
        out: list[RawListing] = []
        for chunk in chunks(keys):
            rows = self.db.query(
                f"SELECT l.source, l.source_id, l.data, l.content_hash FROM "
                f"{pair_values(len(chunk))} JOIN listings l ON l.source = pairs.column1 "
                "AND l.source_id = pairs.column2 WHERE l.status = 'live'",
                [v for key in chunk for v in key])
            out.extend(RawListing(r[0], r[1], decode_json(r[2]), r[3])
                       for r in sorted(rows, key=lambda r: (r[0], r[1])))
        return out

    def save(self, rows: Iterable[CleanRow]) -> int:
        """Insert or replace clean listings, in one transaction; returns how many."""
        batch = [(r.source, r.source_id, r.kind, r.raw_hash,
                  json.dumps(r.data, ensure_ascii=False), r.flags) for r in rows]

        def work() -> None:
            with self.db.transaction():  # COPY on PostgreSQL; linked_hash is kept
                self.db.upsert_rows("clean_listings", CLEAN_COLUMNS, ("source", "source_id"),
                                    batch)

        self.db.retrying(work)
        return len(batch)

    def remove_gone_since(self, since: str) -> int:
        """Drop the clean rows of listings gone at or after ``since``; returns how many."""
        removed = 0
        with self.db.transaction():
            for source, source_id in self.db.query(
                    "SELECT source, source_id FROM listings WHERE status = 'gone' "
                    "AND gone_at >= ?", (since,)):
                removed += self.db.execute("DELETE FROM clean_listings WHERE source = ? AND "
                                           "source_id = ?", (source, source_id)).rowcount
        return removed

    def remove_not_live(self) -> int:
        """Drop every clean row whose raw listing is not live; returns how many."""
        with self.db.transaction():
            return int(self.db.execute(
                "DELETE FROM clean_listings WHERE NOT EXISTS (SELECT 1 FROM listings l WHERE "
                "l.source = clean_listings.source AND l.source_id = clean_listings.source_id "
                "AND l.status = 'live')").rowcount)

    def count(self) -> int:
        row = self.db.query_one("SELECT count(*) FROM clean_listings")
        return int(row[0]) if row else 0

    def get(self, source: str, source_id: str) -> dict[str, Any] | None:
        row = self.db.query_one("SELECT data FROM clean_listings WHERE source = ? AND "
                                "source_id = ?", (source, source_id))
        return decode_json(row[0]) if row else None

    def load(self, keys: Iterable[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        """Clean listings: all of them by (source, source_id), or those of ``keys``."""
        if keys is None:
            return [decode_json(r[0]) for r in self.db.execute(
                "SELECT data FROM clean_listings ORDER BY source, source_id")]
        out: list[dict[str, Any]] = []
        wanted: Sequence[tuple[str, str]] = sorted(set(keys))
        for chunk in chunks(wanted):
            args = [v for pair in chunk for v in pair]
            out.extend(decode_json(r[0]) for r in self.db.execute(
                f"SELECT c.data FROM {pair_values(len(chunk))} JOIN clean_listings c "
                "ON c.source = pairs.column1 AND c.source_id = pairs.column2 "
                "ORDER BY c.source, c.source_id", args))
        return out

    def changed_since_linked(self) -> list[tuple[str, str]]:
        """(source, source_id) of clean listings the matcher has not linked as they are."""
        return [(r[0], r[1]) for r in self.db.query(
            "SELECT source, source_id FROM clean_listings "
            "WHERE linked_hash IS NULL OR linked_hash != raw_hash ORDER BY source, source_id")]

    def mark_linked(self, keys: Iterable[tuple[str, str]] | None = None) -> None:
        """Remember the raw content each listing (all, or those of ``keys``) was linked from."""
        with self.db.transaction():
            if keys is None:
                self.db.execute("UPDATE clean_listings SET linked_hash = raw_hash")
            else:
                self.db.executemany(
                    "UPDATE clean_listings SET linked_hash = raw_hash WHERE source = ? AND "
                    "source_id = ?", list(keys))
