"""The crawl queue and its workers: the scheduler enqueues, ``agora worker`` processes take.

``JobQueue`` (``catalog.jobs``, reached as ``Catalog.jobs``) holds one job per
crawl of one source to run (``crawl_jobs``; at most one queued or running job
per source) and every worker process with its heartbeat (``workers``).

Taking a job (``claim``) is one transaction: the oldest queued job, or a
running one whose worker is dead, read with the engine's row lock for queues
(PostgreSQL's ``FOR UPDATE SKIP LOCKED``: two workers never wait on, nor take,
the same row), whose source's run lock ``crawl:<source>`` the worker can take.
A worker is dead when the engine says so without waiting: on PostgreSQL its
session lock ``worker:<id>`` is free (its connection closed when it died); on
SQLite (one machine) its process is gone or its heartbeat older than
``WORKER_STALE_SECONDS``. A job taken over keeps its run: the new worker resumes
it from the pages and checkpoint the dead one had stored, so no listing is lost
or counted twice.

Example:
    >>> from catalog.store import Catalog
    >>> cat = Catalog.open(":memory:")
    >>> job, created = cat.jobs.enqueue("clickandco", by="example")
    >>> created, cat.jobs.enqueue("clickandco")[1]
    (True, False)
    >>> worker = cat.jobs.register_worker()
    >>> cat.jobs.claim(worker).source
    'clickandco'
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from catalog.engine import Engine, marks, utcnow
from catalog.runs import pid_alive

log = logging.getLogger(__name__)

WORKER_STALE_SECONDS = 60.0  # workers beat every few seconds, even during a long crawl
OPEN = ("queued", "running")
CLAIM_WINDOW = 50  # jobs looked at per claim


class Locks(Protocol):
    """What the queue needs of the catalog's named locks (``catalog.locks.LockStore``)."""

    def acquire_lock(self, name: str, owner: str, *, stale_seconds: float = ...,
                     pid: int | None = ..., host: str | None = ...) -> dict[str, Any] | None: ...

    def release_lock(self, name: str, owner: str) -> None: ...

    def refresh_lock(self, name: str, owner: str) -> bool: ...

    def lock_is_held(self, name: str, *, stale_seconds: float = ...) -> bool: ...


@dataclass(frozen=True)
class Job:
    """One crawl of one source, as queued."""

    id: int
    source: str
    full: bool
    status: str  # queued | running | done | failed
    enqueued_at: str
    enqueued_by: str | None
    not_before: str | None
    worker: str | None
    claimed_at: str | None
    heartbeat_at: str | None
    attempts: int
    run_id: int | None
    finished_at: str | None
    outcome: str | None
    message: str | None
    taken_over_from: str | None = None  # the dead worker this claim took it from
    taken_over_claimed_at: str | None = None  # when that worker had taken it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WorkerInfo:
    """One worker process as registered, and whether it is alive now."""

    id: str
    host: str
    pid: int
    sources: list[str] | None
    state: str  # idle | busy | stopped
    job_id: int | None
    source: str | None
    started_at: str
    heartbeat_at: str
    stopped_at: str | None
    jobs_done: int
    alive: bool
    heartbeat_age_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def worker_lock(worker_id: str) -> str:
    return f"worker:{worker_id}"


def crawl_lock(source: str) -> str:
    return f"crawl:{source}"


def _job(row: Any, taken_over_from: str | None = None,
         taken_over_claimed_at: str | None = None) -> Job:
    return Job(row["id"], row["source"], bool(row["full_crawl"]), row["status"],
               row["enqueued_at"], row["enqueued_by"], row["not_before"], row["worker"],
               row["claimed_at"], row["heartbeat_at"], row["attempts"], row["run_id"],
               row["finished_at"], row["outcome"], row["message"], taken_over_from,
               taken_over_claimed_at)


def _age(iso: str | None) -> float:
    if not iso:
        return float("inf")
    return (datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds()


class JobQueue:
    """Tables ``crawl_jobs`` and ``workers``."""

    def __init__(self, db: Engine, locks: Locks) -> None:
        self.db = db
        self.locks = locks

    # ------------------------------------------------------------------ enqueueing
    def enqueue(self, source: str, *, full: bool = False, by: str | None = None,
                not_before: str | None = None) -> tuple[Job, bool]:
        """Queue a crawl of ``source`` unless one is already queued or running.

        Returns the open job of the source and whether this call created it.
        """
        def work() -> tuple[Job, bool]:
            with self.db.transaction():
                cur = self.db.execute(
                    "INSERT INTO crawl_jobs(source, full_crawl, status, enqueued_at, enqueued_by, "
                    "not_before) VALUES (?, ?, 'queued', ?, ?, ?) ON CONFLICT DO NOTHING",
                    (source, 1 if full else 0, utcnow(), by, not_before))
                created = cur.rowcount == 1
                row = self.db.query_one(
                    "SELECT * FROM crawl_jobs WHERE source = ? AND status IN ('queued', "
                    "'running') ORDER BY id DESC LIMIT 1", (source,))
            assert row is not None
            return _job(row), created

        return self.db.retrying(work)

    # ------------------------------------------------------------------ taking
    def claim(self, worker_id: str, *, sources: list[str] | None = None,
              job_id: int | None = None) -> Job | None:
        """Take the next job this worker may run (see the module docstring), or None.

        ``sources``: only jobs of these sources (those the worker can crawl);
        ``job_id``: only that job. The worker then holds ``crawl:<source>``
        (owner: its id) until ``finish`` or ``release``.
        """
        def work() -> Job | None:
            now = utcnow()
            sql = ("SELECT * FROM crawl_jobs WHERE status IN ('queued', 'running') "
                   "AND (not_before IS NULL OR not_before <= ?)")
            args: list[Any] = [now]
            if sources is not None:
                if not sources:
                    return None
                sql += f" AND source IN ({marks(len(sources))})"
                args.extend(sources)
            if job_id is not None:
                sql += " AND id = ?"
                args.append(job_id)
            sql += f" ORDER BY id LIMIT {CLAIM_WINDOW}" + self.db.skip_locked()
            with self.db.transaction():
                for row in self.db.query(sql, args):
                    previous = row["worker"] if row["status"] == "running" else None
                    if previous is not None and previous != worker_id \
                            and self.worker_alive(previous):
                        continue
                    lock = crawl_lock(row["source"])
                    if self.locks.acquire_lock(lock, worker_id) is not None:
                        continue  # someone else crawls the source (a scheduler in-process)
                    try:
                        message = (f"taken over from worker {previous}, which died"
                                   if previous else None)
                        self.db.execute(
                            "UPDATE crawl_jobs SET status = 'running', worker = ?, claimed_at = ?, "
                            "heartbeat_at = ?, attempts = attempts + 1, "
                            "message = coalesce(?, message) WHERE id = ?",
                            (worker_id, now, now, message, row["id"]))
                        self._set_worker(worker_id, "busy", row["id"], row["source"])
                    except BaseException:
                        self.locks.release_lock(lock, worker_id)
                        raise
                    claimed = self.db.query_one("SELECT * FROM crawl_jobs WHERE id = ?",
                                                (row["id"],))
                    if previous:
                        log.warning("job %d (%s): taken over from dead worker %s", row["id"],
                                    row["source"], previous)
                    return _job(claimed, previous, row["claimed_at"] if previous else None)
            return None

        return self.db.retrying(work)

    def set_run(self, job_id: int, run_id: int) -> None:
        """Record the run a job started or resumed (a worker taking it over resumes it)."""
        self.db.retrying(lambda: self.db.execute(
            "UPDATE crawl_jobs SET run_id = ? WHERE id = ?", (run_id, job_id)))

    def beat(self, job_id: int, worker_id: str) -> bool:
        """Renew the job's and its worker's heartbeat; False when the job is no longer this
        worker's (it was taken over)."""
        now = utcnow()

        def work() -> bool:
            with self.db.transaction():
                cur = self.db.execute(
                    "UPDATE crawl_jobs SET heartbeat_at = ? WHERE id = ? AND worker = ? "
                    "AND status = 'running'", (now, job_id, worker_id))
                self.db.execute("UPDATE workers SET heartbeat_at = ? WHERE id = ?",
                                (now, worker_id))
            return bool(cur.rowcount)

        ok = self.db.retrying(work)
        row = self.db.query_one("SELECT source FROM crawl_jobs WHERE id = ?", (job_id,))
        if row is not None:
            self.locks.refresh_lock(crawl_lock(row["source"]), worker_id)
        return ok

    def finish(self, job_id: int, worker_id: str, *, outcome: str | None,
               message: str | None = None, failed: bool = False) -> bool:
        """End a job this worker ran (done, or failed), then free its source's run lock.

        Returns False when the job was no longer this worker's.
        """
        def work() -> tuple[bool, str | None]:
            now = utcnow()
            with self.db.transaction():
                row = self.db.query_one("SELECT source FROM crawl_jobs WHERE id = ?", (job_id,))
                cur = self.db.execute(
                    "UPDATE crawl_jobs SET status = ?, finished_at = ?, heartbeat_at = ?, "
                    "outcome = ?, message = coalesce(?, message) WHERE id = ? AND worker = ? "
                    "AND status = 'running'", ("failed" if failed else "done", now, now,
                                               outcome, message, job_id, worker_id))
                self.db.execute("UPDATE workers SET state = 'idle', job_id = NULL, "
                                "source = NULL, heartbeat_at = ?, jobs_done = jobs_done + ? "
                                "WHERE id = ?", (now, cur.rowcount, worker_id))
            return bool(cur.rowcount), row["source"] if row else None

        # the row first, the lock after: nobody takes over a job already done
        ok, source = self.db.retrying(work)
        if source:
            self.locks.release_lock(crawl_lock(source), worker_id)
        return ok

    def release(self, job_id: int, worker_id: str, *, delay_seconds: float = 0.0,
                message: str | None = None) -> bool:
        """Put a job this worker holds back in the queue (it stops, or cannot run it now)."""
        not_before = ((datetime.now(UTC) + timedelta(seconds=delay_seconds))
                      .isoformat(timespec="milliseconds") if delay_seconds else None)

        def work() -> tuple[bool, str | None]:
            now = utcnow()
            with self.db.transaction():
                row = self.db.query_one("SELECT source FROM crawl_jobs WHERE id = ?", (job_id,))
                cur = self.db.execute(
                    "UPDATE crawl_jobs SET status = 'queued', not_before = ?, heartbeat_at = ?, "
                    "message = coalesce(?, message) WHERE id = ? AND worker = ? "
                    "AND status = 'running'", (not_before, now, message, job_id, worker_id))
                self.db.execute("UPDATE workers SET state = 'idle', job_id = NULL, "
                                "source = NULL, heartbeat_at = ? WHERE id = ?", (now, worker_id))
            return bool(cur.rowcount), row["source"] if row else None

        ok, source = self.db.retrying(work)
        if source:
            self.locks.release_lock(crawl_lock(source), worker_id)
        return ok

    # ------------------------------------------------------------------ reading
    def get(self, job_id: int) -> Job | None:
        row = self.db.query_one("SELECT * FROM crawl_jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    def jobs(self, *, statuses: tuple[str, ...] | None = None, limit: int = 50) -> list[Job]:
        """Jobs, newest first (of those statuses)."""
        sql, args = "SELECT * FROM crawl_jobs", list[Any]()
        if statuses:
            sql += f" WHERE status IN ({marks(len(statuses))})"
            args.extend(statuses)
        args.append(limit)
        return [_job(r) for r in self.db.query(sql + " ORDER BY id DESC LIMIT ?", args)]

    def open_job(self, source: str) -> Job | None:
        """The source's queued or running job, if any."""
        row = self.db.query_one("SELECT * FROM crawl_jobs WHERE source = ? AND status IN "
                                "('queued', 'running') ORDER BY id DESC LIMIT 1", (source,))
        return _job(row) if row else None

    def finished_since(self, since: str) -> list[Job]:
        """Jobs that ended at or after ``since`` (an ISO time), oldest first."""
        return [_job(r) for r in self.db.query(
            "SELECT * FROM crawl_jobs WHERE status IN ('done', 'failed') AND finished_at >= ? "
            "ORDER BY finished_at, id", (since,))]

    def depth(self) -> dict[str, Any]:
        """The queue at a glance: jobs queued and running, and the oldest queued one's age."""
        counts = {r[0]: r[1] for r in self.db.query(
            "SELECT status, count(*) FROM crawl_jobs WHERE status IN ('queued', 'running') "
            "GROUP BY status")}
        oldest = self.db.query_one("SELECT min(enqueued_at) FROM crawl_jobs "
                                   "WHERE status = 'queued'")
        oldest_at = oldest[0] if oldest else None
        return {"queued": int(counts.get("queued", 0)), "running": int(counts.get("running", 0)),
                "oldest_queued_at": oldest_at,
                "oldest_queued_age_s": round(_age(oldest_at), 1) if oldest_at else None}

    # ------------------------------------------------------------------ workers
    def register_worker(self, *, sources: list[str] | None = None,
                        worker_id: str | None = None) -> str:
        """Register this process as a worker (and, with session locks, hold its life lock)."""
        host, pid = socket.gethostname(), os.getpid()
        worker_id = worker_id or f"{host}:{pid}:{uuid.uuid4().hex[:6]}"
        if self.db.session_locks and self.locks.acquire_lock(worker_lock(worker_id),
                                                             worker_id) is not None:
            raise ValueError(f"worker id {worker_id!r} is already in use")
        now = utcnow()
        self.db.retrying(lambda: self.db.execute(
            "INSERT INTO workers(id, host, pid, sources, state, started_at, heartbeat_at) "
            "VALUES (?, ?, ?, ?, 'idle', ?, ?)",
            (worker_id, host, pid, json.dumps(sources) if sources is not None else None, now,
             now)))
        return worker_id

    def worker_beat(self, worker_id: str) -> None:
        self.db.retrying(lambda: self.db.execute(
            "UPDATE workers SET heartbeat_at = ? WHERE id = ?", (utcnow(), worker_id)))
        if self.db.session_locks:
            self.locks.refresh_lock(worker_lock(worker_id), worker_id)

    def unregister_worker(self, worker_id: str) -> None:
        """The worker stops: it stays listed as stopped, and frees its life lock."""
        now = utcnow()
        self.db.retrying(lambda: self.db.execute(
            "UPDATE workers SET state = 'stopped', stopped_at = ?, heartbeat_at = ?, "
            "job_id = NULL, source = NULL WHERE id = ?", (now, now, worker_id)))
        if self.db.session_locks:
            self.locks.release_lock(worker_lock(worker_id), worker_id)

    def _set_worker(self, worker_id: str, state: str, job_id: int | None,
                    source: str | None) -> None:
        self.db.execute("UPDATE workers SET state = ?, job_id = ?, source = ?, heartbeat_at = ? "
                        "WHERE id = ?", (state, job_id, source, utcnow(), worker_id))

    def worker_alive(self, worker_id: str) -> bool:
        """Whether the worker runs: its life lock held (session locks), else its process on
        this host, or its heartbeat from another."""
        row = self.db.query_one("SELECT * FROM workers WHERE id = ?", (worker_id,))
        return row is not None and self._alive(row)

    def _alive(self, row: Any) -> bool:
        if row["state"] == "stopped":
            return False
        if self.db.session_locks:
            return self.locks.lock_is_held(worker_lock(row["id"]))
        if row["host"] == socket.gethostname() and not pid_alive(row["pid"]):
            return False
        return _age(row["heartbeat_at"]) < WORKER_STALE_SECONDS

    def workers(self, *, include_stopped: bool = False, limit: int = 100) -> list[WorkerInfo]:
        """Registered workers, most recently started first; stopped ones only if asked."""
        sql = "SELECT * FROM workers"
        if not include_stopped:
            sql += " WHERE state != 'stopped'"
        out = []
        for row in self.db.query(sql + " ORDER BY started_at DESC, id LIMIT ?", (limit,)):
            out.append(WorkerInfo(
                row["id"], row["host"], row["pid"],
                json.loads(row["sources"]) if row["sources"] else None, row["state"],
                row["job_id"], row["source"], row["started_at"], row["heartbeat_at"],
                row["stopped_at"], row["jobs_done"], self._alive(row),
                round(_age(row["heartbeat_at"]), 1)))
        return out

    def live_workers(self, source: str | None = None) -> list[WorkerInfo]:
        """Workers alive now (that crawl ``source``, when given)."""
        return [w for w in self.workers() if w.alive
                and (source is None or w.sources is None or source in w.sources)]
