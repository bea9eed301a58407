"""Crawl and import runs: one row per run of one source, its counters and its errors.

``RunStore`` is the part of ``Catalog`` that begins, reads, beats and annotates
runs and records their errors; ending a run (which marks listings gone) is the
listing store's (``catalog.listings``). A run whose process died is
``resumable_run``: its pages done are remembered (``done_pages``) so that the
next process skips them. A run records the host of its process: its pid says
whether it is alive only on that host; elsewhere its heartbeat does.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from catalog.engine import Engine, utcnow
from catalog.errors import RunNotFound

HEARTBEAT_STALE_SECONDS = 120


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
    host: str | None = None

    def process_alive(self) -> bool:
        """Whether the process running it still beats: its pid on its own host (and a fresh
        heartbeat), or its heartbeat alone seen from another host."""
        if self.status != "running" or not self.heartbeat_at:
            return False
        age = (datetime.now(UTC) - datetime.fromisoformat(self.heartbeat_at)).total_seconds()
        if self.host in (None, socket.gethostname()) and not pid_alive(self.pid):
            return False
        return age < HEARTBEAT_STALE_SECONDS

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


class RunStore:
    """Runs and their errors (a part of ``Catalog``)."""

    db: Engine

    def begin_run(self, source: str, *, kind: str = "crawl", mode: str = "full",
                  pid: int | None = None) -> int:
        now = utcnow()
        return self.db.retrying(lambda: self.db.insert_id(
            "INSERT INTO runs(source, kind, mode, status, started_at, heartbeat_at, pid, host, "
            "stats) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, '{}') RETURNING id",
            (source, kind, mode, now, now, pid if pid is not None else os.getpid(),
             socket.gethostname())))

    def get_run(self, run_id: int) -> Run:
        row = self.db.query_one("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            raise RunNotFound(run_id)
        return _run_from_row(row)

    def runs(self, source: str | None = None, limit: int = 50) -> list[Run]:
        if source:
            rows = self.db.query("SELECT * FROM runs WHERE source = ? ORDER BY id DESC LIMIT ?",
                                 (source, limit))
        else:
            rows = self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return [_run_from_row(r) for r in rows]

    def last_run(self, source: str, *, statuses: tuple[str, ...] | None = None) -> Run | None:
        sql = "SELECT * FROM runs WHERE source = ?"
        args: list[Any] = [source]
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(statuses)
        row = self.db.query_one(sql + " ORDER BY id DESC LIMIT 1", args)
        return _run_from_row(row) if row else None

    def resumable_run(self, source: str) -> Run | None:
        """The source's last run if it was killed before it ended (its process is gone)."""
        run = self.last_run(source)
        if run is None or run.status != "running" or run.process_alive():
            return None
        return run

    def claim_run(self, run_id: int, pid: int) -> None:
        """Take over a killed run in this process."""
        self.db.retrying(lambda: self.db.execute(
            "UPDATE runs SET pid = ?, host = ?, heartbeat_at = ?, resumed = resumed + 1 "
            "WHERE id = ?", (pid, socket.gethostname(), utcnow(), run_id)))

    def abandon_run(self, run_id: int) -> bool:
        """Say that the process running a run is known to be gone (its worker's lock was
        free), so that the next crawl of its source resumes it at once instead of waiting
        for its heartbeat to go stale. False when the run had already ended."""
        cur = self.db.retrying(lambda: self.db.execute(
            "UPDATE runs SET pid = NULL, heartbeat_at = NULL WHERE id = ? AND status = 'running'",
            (run_id,)))
        return bool(cur.rowcount)

    def heartbeat(self, run_id: int) -> None:
        self.db.retrying(lambda: self.db.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                                                 (utcnow(), run_id)))

    def set_run_stats(self, run_id: int, stats: dict[str, Any]) -> None:
        self.db.retrying(lambda: self.db.execute(
            "UPDATE runs SET stats = ? WHERE id = ?", (json.dumps(stats, sort_keys=True),
                                                       run_id)))

    def add_pages(self, run_id: int, count: int = 1) -> None:
        """Count pages that carried no listings (navigation, sitemaps, empty answers)."""
        self.db.retrying(lambda: self.db.execute("UPDATE runs SET pages = pages + ? WHERE id = ?",
                                                 (count, run_id)))

    def done_pages(self, run_id: int) -> set[str]:
        return {r[0] for r in self.db.query("SELECT url FROM run_pages WHERE run_id = ?",
                                            (run_id,))}

    def crawled_sources(self) -> list[str]:
        """Every source the catalog has crawl runs of, by key."""
        return [r[0] for r in self.db.query(
            "SELECT DISTINCT source FROM runs WHERE kind = 'crawl' ORDER BY source")]

    def baseline_run(self, source: str, *, before: int | None = None) -> Run | None:
        """The source's last good crawl: a complete full run (or a run an operator accepted).

        Health compares each new run with it; ``before`` excludes that run and later ones.
        """
        sql = "SELECT * FROM runs WHERE source = ? AND kind = 'crawl' AND mode = 'full'"
        args: list[Any] = [source]
        if before is not None:
            sql += " AND id < ?"
            args.append(before)
        for row in self.db.execute(sql + " ORDER BY id DESC", args):
            run = _run_from_row(row)
            if run.status == "complete" or (run.stats.get("health") or {}).get("accepted"):
                return run
        return None

    # ------------------------------------------------------------------ errors
    def _insert_error(self, run_id: int, url: str | None, kind: str, reason: str,
                      now: str) -> None:
        cur = self.db.execute("INSERT INTO crawl_errors(run_id, source, url, kind, reason, at) "
                              "SELECT id, source, ?, ?, ?, ? FROM runs WHERE id = ?",
                              (url, kind, reason[:2000], now, run_id))
        if cur.rowcount == 0:
            raise RunNotFound(run_id)

    def record_error(self, run_id: int, url: str | None, kind: str, reason: str) -> None:
        """Record one error of a run (a page or record it could not use)."""
        def work() -> None:
            with self.db.transaction():
                self._insert_error(run_id, url, kind, reason, utcnow())
                self.db.execute("UPDATE runs SET errors = errors + 1 WHERE id = ?", (run_id,))
        self.db.retrying(work)

    def errors(self, run_id: int | None = None, *, source: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        """The last errors (of a run, or of a source, or of all), newest first."""
        if run_id is not None:
            rows = self.db.query("SELECT * FROM crawl_errors WHERE run_id = ? ORDER BY id DESC "
                                 "LIMIT ?", (run_id, limit))
        elif source:
            rows = self.db.query("SELECT * FROM crawl_errors WHERE source = ? ORDER BY id DESC "
                                 "LIMIT ?", (source, limit))
        else:
            rows = self.db.query("SELECT * FROM crawl_errors ORDER BY id DESC LIMIT ?",
                                 (limit,))
        return [dict(r) for r in rows]

    def errors_by_kind(self, run_id: int) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.query(
            "SELECT kind, count(*) FROM crawl_errors WHERE run_id = ? GROUP BY kind ORDER BY kind",
            (run_id,))}


def _run_from_row(row: Any) -> Run:
    return Run(
        id=row["id"], source=row["source"], kind=row["kind"], mode=row["mode"],
        status=row["status"], started_at=row["started_at"], finished_at=row["finished_at"],
        heartbeat_at=row["heartbeat_at"], pid=row["pid"], resumed=row["resumed"],
        pages=row["pages"], listings=row["listings"], new=row["new"], updated=row["updated"],
        unchanged=row["unchanged"], gone=row["gone"], errors=row["errors"],
        checkpoint=json.loads(row["checkpoint"]) if row["checkpoint"] else None,
        stats=json.loads(row["stats"]) if row["stats"] else {}, message=row["message"],
        host=row["host"],
    )
