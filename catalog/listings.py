"""Raw listings as published: written page by page, marked gone, put back, read.

``ListingStore`` is the part of ``Catalog`` the crawlers write through. Every
write of a page is one transaction, together with the run's counters and the
connector's checkpoint, so a process killed at any moment leaves a consistent
catalog and a run that can be resumed. Nothing is ever deleted: a complete full
run marks what it did not see as gone. A listing's version before a run changed
it is kept until the run ends (``listing_history``), so that a run found
degraded can be undone (``revert_run``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from catalog.engine import chunks, pair_values, utcnow
from catalog.runs import PageCounts, Run, RunStore

EVENT_COLUMNS = ("run_id", "source", "source_id", "kind", "event", "at")
LISTING_COLUMNS = ("source", "source_id", "kind", "url", "data", "content_hash", "status",
                   "first_seen", "last_seen", "changed_at", "first_run", "last_run")


def content_hash(listing: dict[str, Any]) -> str:
    canonical = json.dumps(listing, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


class ListingStore(RunStore):
    """Raw listings and what runs did to them (a part of ``Catalog``)."""

    # ------------------------------------------------------------------ writing
    def write_page(self, run_id: int, listings: Iterable[dict[str, Any]], *,
                   url: str | None = None, mark_done: bool = False,
                   checkpoint: Any = None, touched: Iterable[tuple[str, str]] = (),
                   errors: Iterable[tuple[str | None, str, str]] = (),
                   count_page: bool = True) -> PageCounts:
        """Store one page's listings in one transaction.

        Args:
            run_id: the run writing.
            listings: validated listings in the contract.
            url: the page they came from.
            mark_done: remember the page as done, so a resumed run skips it.
            checkpoint: the connector's state after this page (JSON-able).
            touched: (source, source_id) seen on the page but unusable: kept live.
            errors: (url, kind, reason) met on the page.
            count_page: add one to the run's page count.
        Returns:
            the page's new/updated/unchanged counts.
        """
        items = list(listings)
        errors = list(errors)
        touched = list(touched)

        def work() -> PageCounts:
            now = utcnow()
            with self.db.transaction():
                counts = self._store_items(run_id, items, now)
                self.db.executemany(
                    "UPDATE listings SET last_seen = ?, last_run = ? "
                    "WHERE source = ? AND source_id = ? AND status = 'live'",
                    [(now, run_id, source, source_id) for source, source_id in touched])
                for err_url, kind, reason in errors:
                    self._insert_error(run_id, err_url, kind, reason, now)
                if mark_done and url:
                    self.db.execute("INSERT INTO run_pages(run_id, url) VALUES (?, ?) "
                                    "ON CONFLICT DO NOTHING", (run_id, url))
                sets = ["pages = pages + ?", "listings = listings + ?", "new = new + ?",
                        "updated = updated + ?", "unchanged = unchanged + ?",
                        "errors = errors + ?", "heartbeat_at = ?"]
                args: list[Any] = [1 if count_page else 0,
                                   counts.new + counts.updated + counts.unchanged,
                                   counts.new, counts.updated, counts.unchanged, len(errors), now]
                if checkpoint is not None:
                    sets.append("checkpoint = ?")
                    args.append(json.dumps(checkpoint))
                self.db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?",
                                (*args, run_id))
            return counts

        return self.db.retrying(work)

    def _store_items(self, run_id: int, items: list[dict[str, Any]], now: str) -> PageCounts:
        """Insert, update or touch each listing of a page, as if one after the other.

        The page's stored versions are read in one query and the writes go in one
        batch per kind of statement (a round trip per listing would make a server
        catalog slow): a listing twice on a page is new, then repeated.
        """
        counts = PageCounts()
        known: dict[tuple[str, str], tuple[str, str, Any]] = {}  # key -> (hash, status, last_run)
        keys = sorted({(item["source"], str(item["source_id"])) for item in items})
        for chunk in chunks(keys):
            for row in self.db.query(
                    "SELECT l.source, l.source_id, l.content_hash, l.status, l.last_run FROM "
                    f"{pair_values(len(chunk))} JOIN listings l ON l.source = pairs.column1 "
                    "AND l.source_id = pairs.column2", [v for key in chunk for v in key]):
                known[(row[0], row[1])] = (row[2], row[3], row[4])
        inserts: list[tuple[Any, ...]] = []
        touches: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        changes: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for item in items:
            source, source_id = item["source"], str(item["source_id"])
            digest = content_hash(item)
            stored = known.get((source, source_id))
            known[(source, source_id)] = (digest, "live", run_id)
            if stored is None:
                inserts.append((source, source_id, item["kind"], item.get("url"),
                                json.dumps(item, ensure_ascii=False, sort_keys=True), digest,
                                "live", now, now, now, run_id, run_id))
                events.append((run_id, source, source_id, item["kind"], "new", now))
                counts.new += 1
                continue
            stored_hash, status, last_run = stored
            same = stored_hash == digest and status == "live"
            if same:
                touches.append((now, run_id, source, source_id))
            else:
                # the version before this run changed it, so that a degraded run can be undone
                history.append((run_id, source, source_id))
                changes.append((item["kind"], item.get("url"),
                                json.dumps(item, ensure_ascii=False, sort_keys=True), digest, now,
                                now, run_id, source, source_id))
                events.append((run_id, source, source_id, item["kind"],
                               "returned" if status == "gone" else "updated", now))
            if last_run == run_id:
                counts.repeated += 1
            elif same:
                counts.unchanged += 1
            else:
                counts.updated += 1
        self.db.copy_rows("listings", LISTING_COLUMNS, inserts)  # COPY on PostgreSQL
        self.db.executemany(
            "INSERT INTO listing_history(run_id, source, source_id, kind, url, data, "
            "content_hash, status, changed_at, gone_run, gone_at) SELECT ?, source, source_id, "
            "kind, url, data, content_hash, status, changed_at, gone_run, gone_at FROM listings "
            "WHERE source = ? AND source_id = ? ON CONFLICT DO NOTHING", history)
        self.db.executemany(
            "UPDATE listings SET kind = ?, url = ?, data = ?, content_hash = ?, status = 'live', "
            "last_seen = ?, changed_at = ?, last_run = ?, gone_run = NULL, gone_at = NULL "
            "WHERE source = ? AND source_id = ?", changes)
        self.db.executemany("UPDATE listings SET last_seen = ?, last_run = ? "
                            "WHERE source = ? AND source_id = ?", touches)
        self.db.copy_rows("listing_events", EVENT_COLUMNS, events)
        return counts

    def _event(self, run_id: int, source: str, source_id: str, kind: str, event: str,
               now: str) -> None:
        self.db.execute("INSERT INTO listing_events(run_id, source, source_id, kind, event, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (run_id, source, source_id, kind, event,
                                                      now))

    def mark_gone(self, run_id: int, source: str, source_ids: Iterable[str]) -> int:
        """Mark listings gone because their source said so (tombstones)."""
        ids = list(source_ids)

        def work() -> int:
            now, count = utcnow(), 0
            with self.db.transaction():
                for source_id in ids:
                    row = self.db.query_one(
                        "SELECT kind FROM listings WHERE source = ? AND source_id = ? "
                        "AND status = 'live'", (source, source_id))
                    if row is None:
                        continue
                    self.db.execute(
                        "UPDATE listings SET status = 'gone', gone_run = ?, gone_at = ? "
                        "WHERE source = ? AND source_id = ?", (run_id, now, source, source_id))
                    self._event(run_id, source, source_id, row["kind"], "gone", now)
                    count += 1
                self.db.execute("UPDATE runs SET gone = gone + ? WHERE id = ?", (count, run_id))
            return count

        return self.db.retrying(work)

    def finish_run(self, run_id: int, status: str, *, message: str | None = None,
                   stats: dict[str, Any] | None = None) -> Run:
        """End a run. A complete full run marks what it did not see as gone."""
        run = self.get_run(run_id)

        def work() -> None:
            now = utcnow()
            with self.db.transaction():
                gone = 0
                if status == "complete" and run.mode == "full":
                    rows = self.db.query(
                        "SELECT source_id, kind FROM listings WHERE source = ? AND status = 'live' "
                        "AND (last_run IS NULL OR last_run != ?)", (run.source, run_id))
                    for row in rows:
                        self._event(run_id, run.source, row["source_id"], row["kind"], "gone",
                                    now)
                    gone = len(rows)
                    self.db.execute(
                        "UPDATE listings SET status = 'gone', gone_run = ?, gone_at = ? "
                        "WHERE source = ? AND status = 'live' "
                        "AND (last_run IS NULL OR last_run != ?)",
                        (run_id, now, run.source, run_id))
                merged = dict(run.stats)
                if stats:
                    merged.update(stats)
                self.db.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, heartbeat_at = ?, "
                    "gone = gone + ?, message = ?, stats = ? WHERE id = ?",
                    (status, now, now, gone, message, json.dumps(merged, sort_keys=True),
                     run_id))
                # the earlier versions are needed only while the run may still be undone
                self.db.execute("DELETE FROM listing_history WHERE run_id = ?", (run_id,))
        self.db.retrying(work)
        return self.get_run(run_id)

    def revert_run(self, run_id: int) -> int:
        """Put back every listing the run updated (or brought back) as it was before the run.

        For a run whose extraction is not trusted (degraded): its listings keep their
        last good version; they stay seen by the run (``last_run``), so nothing is lost
        and nothing is marked gone. Listings new in the run are kept. Returns how many
        listings were put back.
        """
        def work() -> int:
            now = utcnow()
            with self.db.transaction():
                rows = self.db.query("SELECT * FROM listing_history WHERE run_id = ?", (run_id,))
                for row in rows:
                    self.db.execute(
                        "UPDATE listings SET kind = ?, url = ?, data = ?, content_hash = ?, "
                        "status = ?, changed_at = ?, gone_run = ?, gone_at = ? "
                        "WHERE source = ? AND source_id = ?",
                        # changed now: a build that saw the untrusted version looks again
                        (row["kind"], row["url"], row["data"], row["content_hash"], row["status"],
                         now, row["gone_run"], row["gone_at"], row["source"],
                         row["source_id"]))
                    self._event(run_id, row["source"], row["source_id"], row["kind"], "reverted",
                                now)
                self.db.execute("DELETE FROM listing_history WHERE run_id = ?", (run_id,))
            return len(rows)

        return self.db.retrying(work)

    # ------------------------------------------------------------------ reading
    def listings(self, *, source: str | None = None, kind: str | None = None,
                 status: str | None = "live") -> Iterator[dict[str, Any]]:
        """Listings in the contract, in a stable order."""
        sql, args = "SELECT data FROM listings WHERE 1 = 1", []
        if source:
            sql += " AND source = ?"
            args.append(source)
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if status:
            sql += " AND status = ?"
            args.append(status)
        for row in self.db.execute(sql + " ORDER BY source, source_id", args):
            yield json.loads(row[0])

    def run_listings(self, run_id: int, source: str) -> Iterator[dict[str, Any]]:
        """Live listings of the source that the run saw."""
        for row in self.db.execute("SELECT data FROM listings WHERE source = ? AND last_run = ? "
                                   "AND status = 'live' ORDER BY source_id", (source, run_id)):
            yield json.loads(row[0])

    def listing(self, source: str, source_id: str) -> dict[str, Any] | None:
        row = self.db.query_one("SELECT data FROM listings WHERE source = ? AND source_id = ?",
                                (source, source_id))
        return json.loads(row[0]) if row else None

    def listing_rows(self, source: str | None = None) -> list[dict[str, Any]]:
        """Each listing's bookkeeping (status, first and last seen, runs), without its data."""
        sql = ("SELECT source, source_id, kind, status, first_seen, last_seen, changed_at, "
               "first_run, last_run, gone_run FROM listings")
        if source:
            rows = self.db.query(sql + " WHERE source = ? ORDER BY source_id", (source,))
        else:
            rows = self.db.query(sql + " ORDER BY source, source_id")
        return [dict(r) for r in rows]

    def count_listings(self, source: str | None = None, status: str = "live") -> int:
        if source:
            row = self.db.query_one("SELECT count(*) FROM listings WHERE source = ? AND "
                                    "status = ?", (source, status))
        else:
            row = self.db.query_one("SELECT count(*) FROM listings WHERE status = ?", (status,))
        return int(row[0]) if row else 0

    def listings_changed_since(self, since: str) -> bool:
        """Whether a listing changed or went at or after ``since`` (an ISO time)."""
        return self.db.query_one(
            "SELECT 1 FROM listings WHERE changed_at >= ? OR gone_at >= ? LIMIT 1",
            (since, since)) is not None

    def has_listings(self) -> bool:
        return self.db.query_one("SELECT 1 FROM listings LIMIT 1") is not None
