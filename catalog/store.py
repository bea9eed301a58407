"""The catalog store: one SQLite file (WAL mode) shared by every stage.

Crawlers write pages of listings into a run; a run that ends complete marks the
listings it did not see as gone; nothing is ever deleted. Every write of a page
is one transaction, together with the run's counters and the connector's
checkpoint, so a process killed at any moment leaves a consistent catalog and a
run that can be resumed. A listing's version before a run changed it is kept
until the run ends (``listing_history``), so that a run found degraded can be
undone (``revert_run``). The scheduler keeps its plan (``schedule_state``) and the
processes their advisory locks (``locks``) here too.

Example:
    >>> cat = Catalog.open(":memory:")
    >>> run = cat.begin_run("demo")
    >>> cat.write_page(run, [{"kind": "shop", "source": "demo", "source_id": "1"}]).new
    1
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from catalog.errors import CatalogLocked, RunNotFound

CATALOG_FILE = "catalog.sqlite"
# Page cache per connection (KiB): a build rewrites thousands of scattered pages in one
# transaction; with the 2 MB default they spill to the WAL before the commit.
CACHE_KIB = 65536
HEARTBEAT_STALE_SECONDS = 120


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def content_hash(listing: dict[str, Any]) -> str:
    canonical = json.dumps(listing, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


@dataclass
class PageCounts:
    """What one page did to the catalog."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    repeated: int = 0  # already stored earlier in the same run

    def __iadd__(self, other: PageCounts) -> PageCounts:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.repeated += other.repeated
        return self


@dataclass
class Run:
    """One crawl or import of one source, as stored."""

    id: int
    source: str
    kind: str
    mode: str
    status: str
    started_at: str
    finished_at: str | None
    heartbeat_at: str | None
    pid: int | None
    resumed: int
    pages: int
    listings: int
    new: int
    updated: int
    unchanged: int
    gone: int
    errors: int
    checkpoint: Any
    stats: dict[str, Any] = field(default_factory=dict)
    message: str | None = None

    @property
    def duration_s(self) -> float | None:
        if not self.finished_at:
            return None
        return (datetime.fromisoformat(self.finished_at)
                - datetime.fromisoformat(self.started_at)).total_seconds()

    @property
    def finished(self) -> bool:
        return self.status != "running"


def pid_alive(pid: int | None) -> bool:
    """Whether a process of this host with that id runs (a zombie does not)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


class Catalog:
    """A connection to the catalog file. One per thread or process."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Catalog:
        """Open (and create if needed) the catalog file at ``path``."""
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=60, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 60000")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA foreign_keys = ON")
        schema = resources.files("catalog").joinpath("schema.sql").read_text(encoding="utf-8")
        _with_retry(lambda: conn.executescript(schema))
        return cls(conn, path)

    @classmethod
    def in_home(cls, home: str | os.PathLike[str]) -> Catalog:
        return cls.open(Path(home) / CATALOG_FILE)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> _Transaction:
        """``with catalog.transaction():`` — one immediate write transaction."""
        return _Transaction(self.conn)

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ------------------------------------------------------------------ runs
    def begin_run(self, source: str, *, kind: str = "crawl", mode: str = "full",
                  pid: int | None = None) -> int:
        now = utcnow()
        cur = self.conn.execute(
            "INSERT INTO runs(source, kind, mode, status, started_at, heartbeat_at, pid, stats) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?, '{}')",
            (source, kind, mode, now, now, pid if pid is not None else os.getpid()))
        return int(cur.lastrowid)

    def get_run(self, run_id: int) -> Run:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return _run_from_row(row)

    def runs(self, source: str | None = None, limit: int = 50) -> list[Run]:
        if source:
            rows = self.conn.execute("SELECT * FROM runs WHERE source = ? ORDER BY id DESC "
                                     "LIMIT ?", (source, limit))
        else:
            rows = self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return [_run_from_row(r) for r in rows]

    def last_run(self, source: str, *, statuses: tuple[str, ...] | None = None) -> Run | None:
        sql = "SELECT * FROM runs WHERE source = ?"
        args: list[Any] = [source]
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(statuses)
        row = self.conn.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return _run_from_row(row) if row else None

    def resumable_run(self, source: str) -> Run | None:
        """The source's last run if it was killed before it ended (its process is gone)."""
        run = self.last_run(source)
        if run is None or run.status != "running":
            return None
        if pid_alive(run.pid) and run.heartbeat_at:
            age = (datetime.now(UTC) - datetime.fromisoformat(run.heartbeat_at)).total_seconds()
            if age < HEARTBEAT_STALE_SECONDS:
                return None  # still running elsewhere
        return run

    def claim_run(self, run_id: int, pid: int) -> None:
        """Take over a killed run in this process."""
        self.conn.execute("UPDATE runs SET pid = ?, heartbeat_at = ?, resumed = resumed + 1 "
                          "WHERE id = ?", (pid, utcnow(), run_id))

    def heartbeat(self, run_id: int) -> None:
        _with_retry(lambda: self.conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                                              (utcnow(), run_id)))

    def set_run_stats(self, run_id: int, stats: dict[str, Any]) -> None:
        _with_retry(lambda: self.conn.execute(
            "UPDATE runs SET stats = ? WHERE id = ?", (json.dumps(stats, sort_keys=True),
                                                       run_id)))

    def add_pages(self, run_id: int, count: int = 1) -> None:
        """Count pages that carried no listings (navigation, sitemaps, empty answers)."""
        _with_retry(lambda: self.conn.execute("UPDATE runs SET pages = pages + ? WHERE id = ?",
                                              (count, run_id)))

    def done_pages(self, run_id: int) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT url FROM run_pages WHERE run_id = ?",
                                                (run_id,))}

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
            counts = PageCounts()
            now = utcnow()
            with self.transaction():
                for item in items:
                    counts += self._upsert(run_id, item, now)
                for source, source_id in touched:
                    self.conn.execute(
                        "UPDATE listings SET last_seen = ?, last_run = ? "
                        "WHERE source = ? AND source_id = ? AND status = 'live'",
                        (now, run_id, source, source_id))
                for err_url, kind, reason in errors:
                    self._insert_error(run_id, err_url, kind, reason, now)
                if mark_done and url:
                    self.conn.execute("INSERT OR IGNORE INTO run_pages(run_id, url) "
                                      "VALUES (?, ?)", (run_id, url))
                sets = ["pages = pages + ?", "listings = listings + ?", "new = new + ?",
                        "updated = updated + ?", "unchanged = unchanged + ?",
                        "errors = errors + ?", "heartbeat_at = ?"]
                args: list[Any] = [1 if count_page else 0,
                                   counts.new + counts.updated + counts.unchanged,
                                   counts.new, counts.updated, counts.unchanged, len(errors), now]
                if checkpoint is not None:
                    sets.append("checkpoint = ?")
                    args.append(json.dumps(checkpoint))
                self.conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?",
                                  (*args, run_id))
            return counts

        return _with_retry(work)

    def _upsert(self, run_id: int, item: dict[str, Any], now: str) -> PageCounts:
        source, source_id = item["source"], str(item["source_id"])
        digest = content_hash(item)
        data = json.dumps(item, ensure_ascii=False, sort_keys=True)
        row = self.conn.execute(
            "SELECT content_hash, status, last_run FROM listings "
            "WHERE source = ? AND source_id = ?", (source, source_id)).fetchone()
        if row is None:
            self.conn.execute(
                "INSERT INTO listings(source, source_id, kind, url, data, content_hash, status, "
                "first_seen, last_seen, changed_at, first_run, last_run) "
                "VALUES (?, ?, ?, ?, ?, ?, 'live', ?, ?, ?, ?, ?)",
                (source, source_id, item["kind"], item.get("url"), data, digest, now, now, now,
                 run_id, run_id))
            self._event(run_id, source, source_id, item["kind"], "new", now)
            return PageCounts(new=1)
        if row["last_run"] == run_id:
            repeated = True
        else:
            repeated = False
        if row["content_hash"] == digest and row["status"] == "live":
            self.conn.execute("UPDATE listings SET last_seen = ?, last_run = ? "
                              "WHERE source = ? AND source_id = ?",
                              (now, run_id, source, source_id))
            return PageCounts(repeated=1) if repeated else PageCounts(unchanged=1)
        event = "returned" if row["status"] == "gone" else "updated"
        # the version before this run changed it, so that a degraded run can be undone
        self.conn.execute(
            "INSERT OR IGNORE INTO listing_history(run_id, source, source_id, kind, url, data, "
            "content_hash, status, changed_at, gone_run, gone_at) SELECT ?, source, source_id, "
            "kind, url, data, content_hash, status, changed_at, gone_run, gone_at FROM listings "
            "WHERE source = ? AND source_id = ?", (run_id, source, source_id))
        self.conn.execute(
            "UPDATE listings SET kind = ?, url = ?, data = ?, content_hash = ?, status = 'live', "
            "last_seen = ?, changed_at = ?, last_run = ?, gone_run = NULL, gone_at = NULL "
            "WHERE source = ? AND source_id = ?",
            (item["kind"], item.get("url"), data, digest, now, now, run_id, source, source_id))
        self._event(run_id, source, source_id, item["kind"], event, now)
        return PageCounts(repeated=1) if repeated else PageCounts(updated=1)

    def _event(self, run_id: int, source: str, source_id: str, kind: str, event: str,
               now: str) -> None:
        self.conn.execute("INSERT INTO listing_events(run_id, source, source_id, kind, event, at) "
                          "VALUES (?, ?, ?, ?, ?, ?)", (run_id, source, source_id, kind, event,
                                                        now))

    def _insert_error(self, run_id: int, url: str | None, kind: str, reason: str,
                      now: str) -> None:
        source = self.conn.execute("SELECT source FROM runs WHERE id = ?",
                                   (run_id,)).fetchone()[0]
        self.conn.execute("INSERT INTO crawl_errors(run_id, source, url, kind, reason, at) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          (run_id, source, url, kind, reason[:2000], now))

    def record_error(self, run_id: int, url: str | None, kind: str, reason: str) -> None:
        """Record one error of a run (a page or record it could not use)."""
        def work() -> None:
            with self.transaction():
                self._insert_error(run_id, url, kind, reason, utcnow())
                self.conn.execute("UPDATE runs SET errors = errors + 1 WHERE id = ?", (run_id,))
        _with_retry(work)

    def mark_gone(self, run_id: int, source: str, source_ids: Iterable[str]) -> int:
        """Mark listings gone because their source said so (tombstones)."""
        ids = list(source_ids)

        def work() -> int:
            now, count = utcnow(), 0
            with self.transaction():
                for source_id in ids:
                    row = self.conn.execute(
                        "SELECT kind FROM listings WHERE source = ? AND source_id = ? "
                        "AND status = 'live'", (source, source_id)).fetchone()
                    if row is None:
                        continue
                    self.conn.execute(
                        "UPDATE listings SET status = 'gone', gone_run = ?, gone_at = ? "
                        "WHERE source = ? AND source_id = ?", (run_id, now, source, source_id))
                    self._event(run_id, source, source_id, row["kind"], "gone", now)
                    count += 1
                self.conn.execute("UPDATE runs SET gone = gone + ? WHERE id = ?", (count, run_id))
            return count

        return _with_retry(work)

    def finish_run(self, run_id: int, status: str, *, message: str | None = None,
                   stats: dict[str, Any] | None = None) -> Run:
        """End a run. A complete full run marks what it did not see as gone."""
        run = self.get_run(run_id)

        def work() -> None:
            now = utcnow()
            with self.transaction():
                gone = 0
                if status == "complete" and run.mode == "full":
                    rows = self.conn.execute(
                        "SELECT source_id, kind FROM listings WHERE source = ? AND status = 'live' "
                        "AND (last_run IS NULL OR last_run != ?)", (run.source, run_id)).fetchall()
                    for row in rows:
                        self._event(run_id, run.source, row["source_id"], row["kind"], "gone",
                                    now)
                    gone = len(rows)
                    self.conn.execute(
                        "UPDATE listings SET status = 'gone', gone_run = ?, gone_at = ? "
                        "WHERE source = ? AND status = 'live' "
                        "AND (last_run IS NULL OR last_run != ?)",
                        (run_id, now, run.source, run_id))
                merged = dict(run.stats)
                if stats:
                    merged.update(stats)
                self.conn.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, heartbeat_at = ?, "
                    "gone = gone + ?, message = ?, stats = ? WHERE id = ?",
                    (status, now, now, gone, message, json.dumps(merged, sort_keys=True),
                     run_id))
                # the earlier versions are needed only while the run may still be undone
                self.conn.execute("DELETE FROM listing_history WHERE run_id = ?", (run_id,))
        _with_retry(work)
        return self.get_run(run_id)

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
        for row in self.conn.execute(sql + " ORDER BY source, source_id", args):
            yield json.loads(row[0])

    def run_listings(self, run_id: int, source: str) -> Iterator[dict[str, Any]]:
        """Live listings of the source that the run saw."""
        for row in self.conn.execute("SELECT data FROM listings WHERE source = ? AND last_run = ? "
                                     "AND status = 'live'", (source, run_id)):
            yield json.loads(row[0])

    def listing(self, source: str, source_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM listings WHERE source = ? AND source_id = ?",
                                (source, source_id)).fetchone()
        return json.loads(row[0]) if row else None

    def listing_rows(self, source: str | None = None) -> list[sqlite3.Row]:
        sql = ("SELECT source, source_id, kind, status, first_seen, last_seen, changed_at, "
               "first_run, last_run, gone_run FROM listings")
        if source:
            return self.conn.execute(sql + " WHERE source = ? ORDER BY source_id",
                                     (source,)).fetchall()
        return self.conn.execute(sql + " ORDER BY source, source_id").fetchall()

    def count_listings(self, source: str | None = None, status: str = "live") -> int:
        if source:
            return self.conn.execute("SELECT count(*) FROM listings WHERE source = ? AND "
                                     "status = ?", (source, status)).fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM listings WHERE status = ?",
                                 (status,)).fetchone()[0]

    def errors(self, run_id: int | None = None, *, source: str | None = None,
               limit: int = 100) -> list[sqlite3.Row]:
        if run_id is not None:
            return self.conn.execute("SELECT * FROM crawl_errors WHERE run_id = ? ORDER BY id "
                                     "DESC LIMIT ?", (run_id, limit)).fetchall()
        if source:
            return self.conn.execute("SELECT * FROM crawl_errors WHERE source = ? ORDER BY id "
                                     "DESC LIMIT ?", (source, limit)).fetchall()
        return self.conn.execute("SELECT * FROM crawl_errors ORDER BY id DESC LIMIT ?",
                                 (limit,)).fetchall()

    def errors_by_kind(self, run_id: int) -> dict[str, int]:
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT kind, count(*) FROM crawl_errors WHERE run_id = ? GROUP BY kind ORDER BY kind",
            (run_id,))}

    # ------------------------------------------------------------------ health
    def baseline_run(self, source: str, *, before: int | None = None) -> Run | None:
        """The source's last good crawl: a complete full run (or a run an operator accepted).

        Health compares each new run with it; ``before`` excludes that run and later ones.
        """
        sql = ("SELECT * FROM runs WHERE source = ? AND kind = 'crawl' AND mode = 'full' "
               "AND (status = 'complete' OR json_extract(stats, '$.health.accepted') = 1)")
        args: list[Any] = [source]
        if before is not None:
            sql += " AND id < ?"
            args.append(before)
        row = self.conn.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return _run_from_row(row) if row else None

    def revert_run(self, run_id: int) -> int:
        """Put back every listing the run updated (or brought back) as it was before the run.

        For a run whose extraction is not trusted (degraded): its listings keep their
        last good version; they stay seen by the run (``last_run``), so nothing is lost
        and nothing is marked gone. Listings new in the run are kept. Returns how many
        listings were put back.
        """
        def work() -> int:
            now = utcnow()
            with self.transaction():
                rows = self.conn.execute(
                    "SELECT * FROM listing_history WHERE run_id = ?", (run_id,)).fetchall()
                for row in rows:
                    self.conn.execute(
                        "UPDATE listings SET kind = ?, url = ?, data = ?, content_hash = ?, "
                        "status = ?, changed_at = ?, gone_run = ?, gone_at = ? "
                        "WHERE source = ? AND source_id = ?",
                        # changed now: a build that saw the untrusted version looks again
                        (row["kind"], row["url"], row["data"], row["content_hash"], row["status"],
                         now, row["gone_run"], row["gone_at"], row["source"],
                         row["source_id"]))
                    self._event(run_id, row["source"], row["source_id"], row["kind"], "reverted",
                                now)
                self.conn.execute("DELETE FROM listing_history WHERE run_id = ?", (run_id,))
            return len(rows)

        return _with_retry(work)

    def needs_build(self) -> bool:
        """Whether listings changed (or went) since the last complete build started."""
        row = self.conn.execute("SELECT started_at FROM builds WHERE status = 'complete' "
                                "ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return self.conn.execute("SELECT 1 FROM listings LIMIT 1").fetchone() is not None
        return self.conn.execute(
            "SELECT 1 FROM listings WHERE changed_at >= ? OR gone_at >= ? LIMIT 1",
            (row[0], row[0])).fetchone() is not None

    def last_build(self) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM builds ORDER BY id DESC LIMIT 1").fetchone()

    # ------------------------------------------------------------------ schedule
    def schedule_states(self) -> dict[str, dict[str, Any]]:
        """The scheduler's row per source (see ``schedule_state`` in schema.sql)."""
        rows = self.conn.execute("SELECT * FROM schedule_state ORDER BY source")
        return {r["source"]: {**dict(r), "schedule": json.loads(r["schedule"])} for r in rows}

    def save_schedule_state(self, source: str, **values: Any) -> None:
        """Create or update a source's scheduler row with the given columns."""
        allowed = {"schedule", "slot_at", "next_run_at", "last_started_at", "last_finished_at",
                   "last_run_id", "last_status", "last_build_id", "last_message"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown schedule_state column(s): {sorted(unknown)}")
        if "schedule" in values:
            values["schedule"] = json.dumps(values["schedule"], sort_keys=True)
        values["updated_at"] = utcnow()
        cols = list(values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols)
        insert_cols = cols if "schedule" in cols else [*cols, "schedule"]
        args = [values[c] for c in cols] + ([] if "schedule" in cols else ["{}"])
        _with_retry(lambda: self.conn.execute(
            f"INSERT INTO schedule_state(source, {', '.join(insert_cols)}) "
            f"VALUES (?, {', '.join('?' * len(insert_cols))}) "
            f"ON CONFLICT(source) DO UPDATE SET {updates}", (source, *args)))

    # ------------------------------------------------------------------ locks
    def acquire_lock(self, name: str, owner: str, *, stale_seconds: float = 600.0,
                     pid: int | None = None, host: str | None = None) -> dict[str, Any] | None:
        """Take the named lock for ``owner``; None when taken, else the holder keeping it.

        A holder whose process is gone (same host) or whose heartbeat is older than
        ``stale_seconds`` is replaced. Holders must call ``refresh_lock`` more often
        than that while they work.
        """
        pid = os.getpid() if pid is None else pid
        host = host or socket.gethostname()

        def work() -> dict[str, Any] | None:
            now = utcnow()
            with self.transaction():
                row = self.conn.execute("SELECT * FROM locks WHERE name = ?", (name,)).fetchone()
                if row is not None and row["owner"] != owner:
                    age = (datetime.now(UTC)
                           - datetime.fromisoformat(row["heartbeat_at"])).total_seconds()
                    gone = row["host"] == host and not pid_alive(row["pid"])
                    if not gone and age < stale_seconds:
                        return dict(row)
                self.conn.execute(
                    "INSERT INTO locks(name, pid, host, owner, acquired_at, heartbeat_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET pid = excluded.pid, "
                    "host = excluded.host, owner = excluded.owner, "
                    "acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at",
                    (name, pid, host, owner, now, now))
            return None

        return _with_retry(work)

    def refresh_lock(self, name: str, owner: str) -> bool:
        """Renew the lock's heartbeat; False when ``owner`` no longer holds it."""
        cur = _with_retry(lambda: self.conn.execute(
            "UPDATE locks SET heartbeat_at = ? WHERE name = ? AND owner = ?",
            (utcnow(), name, owner)))
        return bool(cur.rowcount)

    def release_lock(self, name: str, owner: str) -> None:
        _with_retry(lambda: self.conn.execute("DELETE FROM locks WHERE name = ? AND owner = ?",
                                              (name, owner)))

    def lock_holder(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM locks WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _with_retry(fn: Any, attempts: int = 8) -> Any:
    """Run a write, waiting out another process's lock a few times before giving up."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == attempts - 1:
                raise CatalogLocked(f"the catalog stayed locked: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


def _run_from_row(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"], source=row["source"], kind=row["kind"], mode=row["mode"],
        status=row["status"], started_at=row["started_at"], finished_at=row["finished_at"],
        heartbeat_at=row["heartbeat_at"], pid=row["pid"], resumed=row["resumed"],
        pages=row["pages"], listings=row["listings"], new=row["new"], updated=row["updated"],
        unchanged=row["unchanged"], gone=row["gone"], errors=row["errors"],
        checkpoint=json.loads(row["checkpoint"]) if row["checkpoint"] else None,
        stats=json.loads(row["stats"]) if row["stats"] else {}, message=row["message"],
    )
