"""A crawl worker (``agora worker``): takes crawl jobs from the catalog's queue and runs them.

Any number of workers, on any number of machines, share the sources of one
catalog (PostgreSQL; on SQLite, processes of one machine): each registers
itself (``workers`` table), then loops: take the next job it can run
(``catalog.jobs.claim``: a queued job of a source its sources file knows, or the
job of a worker that died), crawl it with the crawl orchestrator
(``crawlers.orchestrator.crawl_sources``, one crawl process per source, as
``agora crawl`` does), record the outcome, and beat (worker and job heartbeats)
every ``BEAT_SECONDS`` while it waits or crawls.

A job taken over from a dead worker resumes that worker's run: the run is
marked abandoned (its process is known gone: the dead worker's lock was free),
so the orchestrator resumes it from the pages and connector checkpoint it
stored; listings already stored are seen again as repeated, never counted new
twice, never lost. A run under way in another process that is not a worker
(``agora crawl`` by hand) is left alone: the job waits and is tried again.

On SIGTERM or SIGINT the worker stops taking jobs; a crawl under way is stopped
and its job put back in the queue (another worker resumes its run); the worker
then unregisters and returns 0. Each worker has its own AGORA_HOME (logs, the
sources file's credentials stay on its machine).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.jobs import Job
from catalog.runs import HEARTBEAT_STALE_SECONDS
from catalog.store import Catalog, Run
from crawlers.config import SourceConfig, load_sources
from crawlers.orchestrator import RunReport, crawl_sources

log = logging.getLogger(__name__)

BEAT_SECONDS = 5.0  # well under catalog.jobs.WORKER_STALE_SECONDS

Progress = Callable[[dict[str, Run]], None]
CrawlFn = Callable[[SourceConfig, bool, Progress], RunReport]


@dataclass
class JobOutcome:
    """What one job did on this worker."""

    job_id: int
    source: str
    status: str  # the run's status, or interrupted | requeued | error
    run_id: int | None = None
    taken_over_from: str | None = None
    message: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


class _Stopping(Exception):
    """Raised from the crawl's progress callback when the worker is asked to stop."""


class Worker:
    """One worker process; see the module docstring.

    Args:
        home: this worker's AGORA_HOME (its logs; its catalog is ``Catalog.in_home``).
        sources_file: its sources file (read again before each job).
        only: crawl only these sources (default: every source of the file).
        poll: seconds between two looks at the queue when idle.
        crawl: ``crawl(config, full, on_progress) -> RunReport``; default the orchestrator.
    """

    def __init__(self, home: str | os.PathLike[str], *, sources_file: str | None = None,
                 only: list[str] | None = None, poll: float = 2.0,
                 crawl: CrawlFn | None = None) -> None:
        self.home = Path(home)
        self.sources_file = sources_file
        self.only = list(only) if only else None
        self.poll = poll
        self.crawl = crawl or self._crawl_sources
        self.catalog = Catalog.in_home(self.home)  # holds this worker's locks
        self.stop_event = threading.Event()
        self.id: str | None = None
        self._last_beat = 0.0

    # ------------------------------------------------------------------ life
    def configs(self) -> dict[str, SourceConfig]:
        """The sources this worker can crawl, from its sources file as it is now."""
        configs = load_sources(self.sources_file)
        if self.only is not None:
            unknown = sorted(set(self.only) - set(configs))
            if unknown:
                raise ValueError(f"unknown source(s) {', '.join(unknown)} in the sources file")
            configs = {k: v for k, v in configs.items() if k in self.only}
        return configs

    def start(self) -> str:
        """Register this worker; returns its id."""
        if self.id is None:
            self.id = self.catalog.jobs.register_worker(sources=sorted(self.configs()))
            log.info("worker %s registered on %s", self.id, self.catalog.describe())
        return self.id

    def close(self) -> None:
        """Unregister and close the catalog (its locks go with the connection)."""
        if self.catalog is None:
            return
        try:
            if self.id is not None:
                self.catalog.jobs.unregister_worker(self.id)
        except Exception:  # a lost connection: the worker is shown dead, not stopped
            log.exception("worker %s could not unregister", self.id)
        finally:
            self.catalog.close()
            self.catalog = None  # type: ignore[assignment]

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def beat(self, job: Job | None = None, *, force: bool = False) -> None:
        """Renew the worker's (and its job's) heartbeat, at most every BEAT_SECONDS."""
        now = time.monotonic()
        if not force and now - self._last_beat < BEAT_SECONDS:
            return
        self._last_beat = now
        assert self.id is not None
        if job is not None:
            self.catalog.jobs.beat(job.id, self.id)
        else:
            self.catalog.jobs.worker_beat(self.id)

    # ------------------------------------------------------------------ jobs
    def run_once(self, *, job_id: int | None = None) -> JobOutcome | None:
        """Take one job (``job_id``: that one only) and run it; None when none is free."""
        worker_id = self.start()
        configs = self.configs()
        job = self.catalog.jobs.claim(worker_id, sources=sorted(configs), job_id=job_id)
        if job is None:
            return None
        return self._run(job, configs[job.source])

    def _run(self, job: Job, config: SourceConfig) -> JobOutcome:
        assert self.id is not None
        outcome = JobOutcome(job.id, job.source, "error", run_id=job.run_id,
                             taken_over_from=job.taken_over_from)
        if job.taken_over_from:
            self._resume_dead_workers_run(job)
        log.info("job %d: crawling %s%s", job.id, job.source,
                 f" (taken over from {job.taken_over_from})" if job.taken_over_from else "")
        recorded: set[int] = set()

        def progress(runs: dict[str, Run]) -> None:
            run = runs.get(job.source)
            if run is not None and run.id not in recorded:
                self.catalog.jobs.set_run(job.id, run.id)
                recorded.add(run.id)
                outcome.run_id = run.id
            self.beat(job)
            if self.stop_event.is_set():
                raise _Stopping()

        try:
            report = self.crawl(config, job.full, progress)
        except _Stopping:
            outcome.status = "interrupted"
            outcome.message = f"worker {self.id} stopped; another worker resumes the run"
            self.catalog.jobs.release(job.id, self.id, message=outcome.message)
            log.warning("job %d: %s", job.id, outcome.message)
            return outcome
        except Exception as exc:  # a worker outlives any one crawl
            outcome.message = f"{type(exc).__name__}: {exc}"
            log.exception("job %d: the crawl of %s failed", job.id, job.source)
            self.catalog.jobs.finish(job.id, self.id, outcome="error", message=outcome.message,
                                     failed=True)
            return outcome
        run = report.run
        outcome.run_id = run.id
        if run.id not in recorded:
            self.catalog.jobs.set_run(job.id, run.id)
        if report.skipped:
            outcome.status = "requeued"
            outcome.message = (f"run {run.id} of {job.source} is under way in process {run.pid} "
                               f"on {run.host}: tried again later")
            self.catalog.jobs.release(job.id, self.id, delay_seconds=HEARTBEAT_STALE_SECONDS,
                                      message=outcome.message)
            log.warning("job %d: %s", job.id, outcome.message)
            return outcome
        outcome.status, outcome.message = run.status, run.message
        outcome.figures = {"pages": run.pages, "listings": run.listings, "new": run.new,
                           "updated": run.updated, "gone": run.gone, "resumed": report.resumed}
        self.catalog.jobs.finish(job.id, self.id, outcome=run.status, message=run.message,
                                 failed=run.status == "failed")
        log.info("job %d: %s run %d %s (%d listings, %d new)", job.id, job.source, run.id,
                 run.status, run.listings, run.new)
        return outcome

    def _resume_dead_workers_run(self, job: Job) -> None:
        """The dead worker's run: its process is gone with it, so the crawl resumes it now."""
        run = self.catalog.get_run(job.run_id) if job.run_id else None
        if run is None:  # it died before recording its run: the one it started, if any
            last = self.catalog.last_run(job.source)
            since = job.taken_over_claimed_at
            if last is not None and last.status == "running" and since \
                    and last.started_at >= since:
                run = last
        if run is not None and run.status == "running" and self.catalog.abandon_run(run.id):
            log.info("job %d: run %d of dead worker %s resumes here", job.id, run.id,
                     job.taken_over_from)

    def _crawl_sources(self, config: SourceConfig, full: bool, progress: Progress) -> RunReport:
        [report] = crawl_sources([config], self.home, sources_file=self.sources_file,
                                 full=full, on_progress=progress, poll_seconds=0.5)
        return report

    # ------------------------------------------------------------------ serving
    def serve(self, *, handle_signals: bool = True,
              on_outcome: Callable[[JobOutcome], None] | None = None) -> int:
        """Take and run jobs until SIGTERM/SIGINT (or ``stop_event``); returns 0."""
        self.start()
        previous: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            def on_signal(signum: int, _frame: Any) -> None:
                log.warning("%s received: worker %s stops", signal.Signals(signum).name,
                            self.id)
                self.stop_event.set()
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, on_signal)
        try:
            while not self.stop_event.is_set():
                self.beat()
                outcome = self.run_once()
                if outcome is None:
                    self.stop_event.wait(self.poll)
                elif on_outcome is not None:
                    on_outcome(outcome)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.close()
        return 0
