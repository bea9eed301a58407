"""The crawl scheduler behind ``agora schedule``: each source on its own cadence.

Every enabled source with a ``schedule:`` entry (``{interval: 6h, jitter: 20m}`` or
``{cron: '30 3 * * *', jitter: 15m}``) becomes one APScheduler job (a
``BackgroundScheduler``, one thread per source, ``max_instances=1``,
``coalesce=True``, a misfire grace time). Its trigger, ``SourceTrigger``, walks
the source's nominal times (``Cadence``: APScheduler's ``CronTrigger`` does the
calendar) and delays each by a jitter drawn from the source and the time itself:
the same plan after a restart, sources with one cadence spread apart, and no
drift (APScheduler's own interval jitter adds up run after run).

A due source is crawled one of two ways (``crawl_mode``):

- **inline**: the scheduler takes the source's lock in the catalog
  (``crawl:<key>``: never two runs of one source, across processes too; a run
  still going from ``agora crawl`` is left alone), crawls with ``crawl_sources``,
  then brings the build up to date (``agora.pipeline.build``, which swaps the new
  index in) unless nothing changed since the last build, and logs the run;
- **queue**: the scheduler enqueues a crawl job (``catalog.jobs``) for the
  ``agora worker`` processes, on this machine or others, and goes on; when jobs
  end (``collect``, every few seconds) it records them in the plan and brings
  the build up to date once for all of them.

``auto`` (the command's default) queues a source when a live worker crawls it
and crawls inline otherwise: a single machine needs no worker, and starting
workers is enough to move the crawls onto them.

The plan lives in the catalog (table ``schedule_state``), not in a pickled job
store, so the status pages read it as plain SQLite. On start each source's next
run is taken from there; a source that is overdue (its time passed while nothing
ran, its last run was cut short, or it never ran) runs soon, the overdue sources
``stagger`` seconds apart rather than all at once. One scheduler per catalog:
the ``scheduler`` lock says which process holds it.

Time is injectable: ``Scheduler(clock=...)`` and ``tick(now)`` run what is due
at ``now``, one source after the other, deciding exactly as the APScheduler jobs
do (the same triggers, the same ``run_source``); the tests drive a fake clock
through it, and ``agora schedule --once`` uses it.

On SIGTERM or SIGINT ``serve`` stops scheduling, lets running crawls finish for
``shutdown_grace`` seconds (a second signal cuts that short), then stops them
(the worker is terminated; its run is resumed or run again at the next start)
and returns 0.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from catalog.errors import CatalogLocked
from catalog.store import Catalog, Run
from crawlers.config import SourceConfig, parse_duration
from crawlers.errors import SourceConfigError
from crawlers.health import rules_for
from crawlers.orchestrator import crawl_sources

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Europe/Paris"  # cron entries read as local time in the territory
LOCK_STALE_SECONDS = 600.0
LOCK_REFRESH_SECONDS = 30.0
COLLECT_SECONDS = 5.0  # how often a queueing scheduler looks for jobs that ended
CRAWL_MODES = ("auto", "inline", "queue")

Clock = Callable[[], datetime]
ShouldStop = Callable[[], bool]
CrawlFn = Callable[[SourceConfig, ShouldStop], Run]
BuildFn = Callable[[Catalog], Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 to the microsecond: a plan read back is the very same time."""
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


class SchedulerBusy(CatalogLocked):
    """Another ``agora schedule`` process holds the catalog."""

    def __init__(self, holder: dict[str, Any]) -> None:
        super().__init__(f"another scheduler runs on this catalog (pid {holder['pid']} on "
                         f"{holder['host']}, since {holder['acquired_at'][:19]}); stop it "
                         "first")
        self.holder = holder


# --------------------------------------------------------------------------- cadence
@dataclass(frozen=True)
class Cadence:
    """A source's nominal run times and its jitter; pure, no state."""

    source: str
    interval: float | None = None  # seconds
    cron: str | None = None
    jitter: float = 0.0  # seconds
    timezone: tzinfo = UTC
    _cron: CronTrigger | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, config: SourceConfig, timezone: tzinfo | str = DEFAULT_TIMEZONE) -> Cadence:
        """The cadence of a source's ``schedule:`` entry.

        Raises:
            SourceConfigError: no schedule, a bad duration or crontab, or a jitter
                not shorter than the time between two runs.
        """
        tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        schedule = config.schedule
        where = f"source {config.key!r}: schedule: "
        if not schedule:
            raise SourceConfigError(f"source {config.key!r} has no schedule entry",
                                    source=config.key)
        try:
            jitter = parse_duration(schedule.get("jitter", 0))
            interval = parse_duration(schedule["interval"]) if "interval" in schedule else None
        except ValueError as exc:
            raise SourceConfigError(f"{where}{exc}", source=config.key) from exc
        cron_trigger = None
        if interval is None:
            try:
                cron_trigger = CronTrigger.from_crontab(schedule["cron"], timezone=tz)
            except (ValueError, KeyError) as exc:
                raise SourceConfigError(f"{where}bad cron {schedule.get('cron')!r}: {exc}",
                                        source=config.key) from exc
        elif interval <= 0:
            raise SourceConfigError(f"{where}the interval must be positive", source=config.key)
        cadence = cls(config.key, interval, schedule.get("cron") if interval is None else None,
                      jitter, tz, cron_trigger)
        gap = cadence.shortest_gap()
        if jitter >= gap:
            raise SourceConfigError(f"{where}the jitter ({jitter:g}s) must be shorter than the "
                                    f"time between two runs ({gap:g}s)", source=config.key)
        return cadence

    def shortest_gap(self, probe: datetime | None = None) -> float:
        """Seconds between two nominal times (the smallest of the next few, for cron)."""
        if self.interval is not None:
            return self.interval
        slot = self.next_slot(probe or datetime(2025, 1, 1, tzinfo=UTC))
        gaps = []
        for _ in range(8):
            following = self.next_slot(slot)
            gaps.append((following - slot).total_seconds())
            slot = following
        return min(gaps)

    def next_slot(self, after: datetime) -> datetime:
        """The first nominal time strictly after ``after`` (an interval: ``after`` + it)."""
        if self.interval is not None:
            return after + timedelta(seconds=self.interval)
        assert self._cron is not None
        nxt = self._cron.get_next_fire_time(None, after + timedelta(microseconds=1))
        return nxt.astimezone(UTC)

    def offset(self, slot: datetime) -> float:
        """The jitter of that slot, whole seconds in [0, jitter), drawn from the source and
        the slot."""
        if not self.jitter:
            return 0.0
        digest = hashlib.blake2b(f"{self.source}|{_iso(slot)}".encode(), digest_size=8).digest()
        return float(math.floor(int.from_bytes(digest, "big") / 2**64 * self.jitter))

    def fire_time(self, slot: datetime) -> datetime:
        return slot + timedelta(seconds=self.offset(slot))

    def first_after(self, slot: datetime, now: datetime) -> datetime:
        """The first nominal time after ``slot`` whose run is still ahead of ``now``.

        Missed times are skipped (coalesced): a late scheduler runs once, not once
        per time it missed.
        """
        if self.interval is not None and now > slot:
            skip = max(0, math.floor((now - slot).total_seconds() / self.interval) - 1)
            slot += timedelta(seconds=skip * self.interval)
        nxt = self.next_slot(slot)
        if self.interval is None and nxt + timedelta(seconds=self.jitter) < now:
            nxt = self.next_slot(now - timedelta(seconds=self.jitter))
        while self.fire_time(nxt) <= now:
            nxt = self.next_slot(nxt)
        return nxt

    def describe(self) -> str:
        """'every 6h, jitter 20m' or 'cron 30 3 * * * (Europe/Paris), jitter 15m'."""
        text = (f"every {_human(self.interval)}" if self.interval is not None
                else f"cron {self.cron} ({self.timezone})")
        return text + (f", jitter {_human(self.jitter)}" if self.jitter else "")


class SourceTrigger(BaseTrigger):
    """APScheduler trigger of one source: the cadence's times after the planned first one.

    ``get_next_fire_time`` is a pure function of its arguments (APScheduler calls
    it more than once for the same time); ``on_plan(source, slot, fire)`` is told
    each plan made, to persist it.
    """

    def __init__(self, cadence: Cadence, first_slot: datetime, first_fire: datetime,
                 on_plan: Callable[[str, datetime, datetime], None] | None = None) -> None:
        self.cadence = cadence
        self.first_fire = first_fire
        self.on_plan = on_plan
        self._slots: dict[datetime, datetime] = {first_fire: first_slot}

    def slot_of(self, fire: datetime) -> datetime:
        return self._slots.get(fire, fire)

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime:
        if previous_fire_time is None:
            return self.first_fire
        slot = self.cadence.first_after(self.slot_of(previous_fire_time), now)
        fire = self.cadence.fire_time(slot)
        self._slots[fire] = slot
        if len(self._slots) > 32:  # only the last few plans are ever asked about
            for old in sorted(self._slots)[:-16]:
                del self._slots[old]
        if self.on_plan:
            self.on_plan(self.cadence.source, slot, fire)
        return fire

    def __str__(self) -> str:
        return f"source[{self.cadence.describe()}]"

    def __repr__(self) -> str:
        return f"<SourceTrigger {self.cadence.source}: {self.cadence.describe()}>"


# --------------------------------------------------------------------------- runs
@dataclass
class Outcome:
    """What one scheduled run of a source did."""

    source: str
    status: str  # the run's status, or queued | skipped | interrupted | error
    run_id: int | None = None
    job_id: int | None = None  # the crawl job queued for the workers (queue mode)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    build_id: int | None = None
    build_error: str | None = None
    message: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Job:
    config: SourceConfig
    trigger: SourceTrigger
    next_fire: datetime | None


class _Aborted(Exception):
    """Raised from the crawl's progress callback when the scheduler stops."""


def describe_run(run: Run) -> str:
    """'complete in 12.3s: 40 pages, 512 listings (3 new, 5 updated, 1 gone), errors: ...'."""
    errors = run.stats.get("errors_by_kind") or {}
    text = (f"{run.status} in {run.duration_s or 0:.1f}s: {run.pages} pages, {run.listings} "
            f"listings ({run.new} new, {run.updated} updated, {run.gone} gone)")
    if errors:
        text += ", errors: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items()))
    return text


def default_build(catalog: Catalog) -> Any:
    """Normalize, dedup and index what changed; the new index is swapped in."""
    from agora.pipeline import build  # noqa: PLC0415 - the matcher is heavy

    return build(catalog, mode="auto")


class Scheduler:
    """Runs each source on its cadence; see the module docstring.

    Args:
        configs: the sources to schedule (each needs a ``schedule:`` entry).
        home: AGORA_HOME (the catalog and the workers' logs).
        sources_file: passed to the crawl workers.
        crawl: ``crawl(config, should_stop) -> Run``; default: ``crawl_sources``.
        build: ``build(catalog)`` after a crawl; default ``agora.pipeline.build``;
            None: no build.
        clock: the current time (aware); injectable for tests.
        timezone: how cron entries are read.
        stagger: seconds between overdue sources on start.
        misfire_grace: a run later than this (seconds) is skipped for the next one.
        shutdown_grace: on stop, seconds running crawls get to finish.
        crawl_mode: inline, queue or auto (see the module docstring).
    """

    def __init__(self, configs: Iterable[SourceConfig], home: str | os.PathLike[str], *,
                 sources_file: str | None = None, crawl: CrawlFn | None = None,
                 build: BuildFn | None = default_build, clock: Clock = utc_now,
                 timezone: tzinfo | str = DEFAULT_TIMEZONE, stagger: float = 60.0,
                 misfire_grace: float = 3600.0, shutdown_grace: float = 120.0,
                 poll_seconds: float = 0.5, crawl_mode: str = "inline") -> None:
        if crawl_mode not in CRAWL_MODES:
            raise ValueError(f"crawl mode {crawl_mode!r}: one of {', '.join(CRAWL_MODES)}")
        self.crawl_mode = crawl_mode
        self.home = Path(home)
        self.configs = {c.key: c for c in configs}
        self.sources_file = sources_file
        self.crawl = crawl or self._crawl_sources
        self.build = build
        self.clock = clock
        self.stagger = stagger
        self.misfire_grace = misfire_grace
        self.shutdown_grace = shutdown_grace
        self.poll_seconds = poll_seconds
        self.cadences = {}
        for key, config in self.configs.items():
            self.cadences[key] = Cadence.of(config, timezone)
            rules_for(config)  # a bad health: entry is an error now, not at the first run
        self.catalog = Catalog.in_home(self.home)
        self._db = threading.Lock()  # the shared connection, between job threads
        self._build_lock = threading.Lock()
        self._owner = f"scheduler-{uuid.uuid4().hex}"
        self._stopping = threading.Event()  # no new runs
        self._abort = threading.Event()  # running crawls stop too
        self._active = 0
        self._idle = threading.Condition()
        self.jobs: dict[str, _Job] = {}
        self.started = False
        self.queued: dict[int, Outcome] = {}  # job id -> its outcome, until the job ends

    # ------------------------------------------------------------------ the plan
    def start(self, now: datetime | None = None) -> dict[str, datetime]:
        """Hold the catalog's scheduler lock and plan each source's next run.

        Raises:
            SchedulerBusy: another scheduler holds this catalog.
        """
        with self._db:
            holder = self.catalog.acquire_lock("scheduler", self._owner,
                                               stale_seconds=LOCK_STALE_SECONDS)
        if holder is not None:
            raise SchedulerBusy(holder)
        now = now or self.clock()
        with self._db:
            states = self.catalog.schedule_states()
        plans: dict[str, tuple[datetime, datetime]] = {}
        overdue: list[tuple[datetime, str]] = []
        for key, config in self.configs.items():
            plan, due = self._restore(key, config, states.get(key), now)
            if plan is not None:
                plans[key] = plan
            else:
                overdue.append((due or datetime.min.replace(tzinfo=UTC), key))
        for i, (_, key) in enumerate(sorted(overdue)):
            fire = now + timedelta(seconds=i * self.stagger)
            plans[key] = (fire, fire)
            log.info("%s: overdue, runs at %s", key, _iso(fire))
        for key, (slot, fire) in plans.items():
            trigger = SourceTrigger(self.cadences[key], slot, fire, on_plan=self._planned)
            self.jobs[key] = _Job(self.configs[key], trigger, fire)
            self._save(key, schedule=self.configs[key].schedule, slot_at=_iso(slot),
                       next_run_at=_iso(fire))
        self.started = True
        return self.next_runs()

    def _restore(self, key: str, config: SourceConfig, state: dict[str, Any] | None,
                 now: datetime) -> tuple[tuple[datetime, datetime] | None, datetime | None]:
        """The persisted plan if still ahead, else (None, when it was due)."""
        cadence = self.cadences[key]
        with self._db:
            resumable = self.catalog.resumable_run(key)
            last = next((r for r in self.catalog.runs(key, limit=10) if r.kind == "crawl"), None)
        if resumable is not None:
            return None, _parse(resumable.started_at)
        if state and state["schedule"] == (config.schedule or {}):
            if state.get("last_status") in ("running", "interrupted"):
                return None, _parse(state.get("last_started_at"))  # cut short: run it again
            slot, fire = _parse(state.get("slot_at")), _parse(state.get("next_run_at"))
            if slot and fire:
                return ((slot, fire), None) if fire > now else (None, fire)
        if last is None:
            return None, None  # never ran
        slot = cadence.next_slot(_parse(last.started_at) or now)
        fire = cadence.fire_time(slot)
        return ((slot, fire), None) if fire > now else (None, fire)

    def _planned(self, source: str, slot: datetime, fire: datetime) -> None:
        job = self.jobs.get(source)
        if job is not None:
            job.next_fire = fire
        try:  # called from APScheduler's own thread, which must never die of it
            self._save(source, slot_at=_iso(slot), next_run_at=_iso(fire))
        except Exception:
            log.exception("%s: could not save the plan (next run at %s)", source, _iso(fire))

    def next_runs(self) -> dict[str, datetime]:
        return {key: job.next_fire for key, job in self.jobs.items() if job.next_fire}

    def _save(self, source: str, **values: Any) -> None:
        with self._db:
            if self.catalog is not None:  # None once closed: a late plan is dropped
                self.catalog.save_schedule_state(source, **values)

    # ------------------------------------------------------------------ fake-clock driving
    def tick(self, now: datetime | None = None) -> list[Outcome]:
        """Run, one after the other, every source due at ``now``; as the jobs would."""
        if not self.started:
            self.start(now)
        now = now or self.clock()
        self._refresh("scheduler", self._owner)
        outcomes = []
        due = sorted((job.next_fire, key) for key, job in self.jobs.items()
                     if job.next_fire is not None and job.next_fire <= now)
        for fire, key in due:
            job = self.jobs[key]
            # planned at submission, as APScheduler does: a long run never shifts the cadence
            job.next_fire = job.trigger.get_next_fire_time(fire, now)
            if (now - fire).total_seconds() > self.misfire_grace:
                log.warning("%s: the run due at %s was missed by %s; next at %s", key,
                            _iso(fire), now - fire, _iso(job.next_fire))
                continue
            outcomes.append(self.run_source(key))
        self.collect()
        return outcomes

    # ------------------------------------------------------------------ one run
    def run_source(self, key: str) -> Outcome:
        """Crawl one source now (unless it is already running), then bring the build up to date."""
        config = self.configs[key]
        if self._stopping.is_set():
            return Outcome(key, "skipped", message="the scheduler is stopping")
        if self._queues(key):
            return self._enqueue(key)
        lock = f"crawl:{key}"
        owner = f"{self._owner}:{key}:{uuid.uuid4().hex[:8]}"
        with self._db:
            holder = self.catalog.acquire_lock(lock, owner, stale_seconds=LOCK_STALE_SECONDS)
            running = self.catalog.last_run(key)
            if holder is None and running is not None and running.status == "running" \
                    and self.catalog.resumable_run(key) is None:
                self.catalog.release_lock(lock, owner)
                holder = {"pid": running.pid, "host": "this host",
                          "acquired_at": running.started_at, "run": running.id}
        if holder is not None:
            message = (f"already running (pid {holder['pid']}"
                       + (f", run {holder['run']}" if "run" in holder else "")
                       + f", since {holder['acquired_at'][:19]}): this run is skipped")
            log.warning("%s: %s", key, message)
            self._save(key, last_message=message)
            return Outcome(key, "skipped", message=message)
        with self._idle:
            self._active += 1
        beat_stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(lock, owner, beat_stop),
                                name=f"lock-{key}", daemon=True)
        beat.start()
        started = self.clock()
        outcome = Outcome(key, "error", started_at=started)
        self._save(key, last_started_at=_iso(started), last_status="running", last_message=None)
        log.info("%s: run starts (%s)", key, self.cadences[key].describe())
        try:
            run = self.crawl(config, self._abort.is_set)
            outcome.status, outcome.run_id, outcome.message = run.status, run.id, run.message
            outcome.figures = {"pages": run.pages, "listings": run.listings, "new": run.new,
                               "updated": run.updated, "gone": run.gone,
                               "errors": run.stats.get("errors_by_kind") or {}}
            level = logging.INFO if run.status == "complete" else logging.WARNING
            log.log(level, "%s: run %d %s%s", key, run.id, describe_run(run),
                    f" — {run.message}" if run.message else "")
            if self.build is not None and not self._abort.is_set():
                try:
                    outcome.build_id = self._bring_build_up_to_date(key)
                except Exception as exc:  # the crawl stands; the next run builds again
                    outcome.build_error = f"build failed: {type(exc).__name__}: {exc}"
        except _Aborted:
            outcome.status = "interrupted"
            outcome.message = "stopped with the scheduler; the run resumes at the next start"
            log.warning("%s: %s", key, outcome.message)
        except Exception as exc:  # a scheduler outlives any one run
            outcome.message = f"{type(exc).__name__}: {exc}"
            log.exception("%s: the scheduled run failed", key)
        finally:
            beat_stop.set()
            outcome.finished_at = self.clock()
            job = self.jobs.get(key)
            self._save(key, last_finished_at=_iso(outcome.finished_at),
                       last_run_id=outcome.run_id, last_status=outcome.status,
                       last_build_id=outcome.build_id,
                       last_message=outcome.build_error or outcome.message)
            with self._db:
                if self.catalog is not None:
                    self.catalog.release_lock(lock, owner)
            with self._idle:
                self._active -= 1
                self._idle.notify_all()
            if job is not None and job.next_fire:
                log.info("%s: next run at %s", key, _iso(job.next_fire))
        return outcome

    # ------------------------------------------------------------------ the queue
    def _queues(self, key: str) -> bool:
        """Whether this run of ``key`` goes to the workers (see ``crawl_mode``)."""
        if self.crawl_mode != "auto":
            return self.crawl_mode == "queue"
        with self._db:
            return bool(self.catalog.jobs.live_workers(key))

    def _enqueue(self, key: str) -> Outcome:
        started = self.clock()
        with self._db:
            job, created = self.catalog.jobs.enqueue(key, by=self._owner)
        message = (f"job {job.id} queued for the workers" if created
                   else f"job {job.id} already {job.status}: not queued again")
        outcome = Outcome(key, "queued", job_id=job.id, started_at=started, message=message)
        self.queued[job.id] = outcome
        self._save(key, last_started_at=_iso(started), last_status="queued",
                   last_message=message)
        log.info("%s: %s", key, message)
        return outcome

    def collect(self) -> list[Outcome]:
        """Record the queued jobs that ended (in the plan and their outcomes), then bring the
        build up to date once for them all; returns their outcomes."""
        if not self.queued:
            return []
        ended = []
        with self._db:
            if self.catalog is None:
                return []
            for job_id, outcome in list(self.queued.items()):
                job = self.catalog.jobs.get(job_id)
                if job is None or job.status in ("queued", "running"):
                    continue
                del self.queued[job_id]
                outcome.status = job.outcome or job.status
                outcome.message = job.message
                outcome.finished_at = self.clock()
                if job.run_id is not None:
                    run = self.catalog.get_run(job.run_id)
                    outcome.run_id = run.id
                    outcome.figures = {"pages": run.pages, "listings": run.listings,
                                       "new": run.new, "updated": run.updated, "gone": run.gone,
                                       "errors": run.stats.get("errors_by_kind") or {}}
                ended.append(outcome)
        for outcome in ended:
            log.info("%s: job %d ended: %s", outcome.source, outcome.job_id, outcome.status)
            self._save(outcome.source, last_finished_at=_iso(outcome.finished_at),
                       last_run_id=outcome.run_id, last_status=outcome.status,
                       last_message=outcome.message)
        if ended and self.build is not None and not self._abort.is_set():
            try:
                build_id = self._bring_build_up_to_date(ended[-1].source)
            except Exception as exc:  # the crawls stand; the next ones build again
                for outcome in ended:
                    outcome.build_error = f"build failed: {type(exc).__name__}: {exc}"
                    self._save(outcome.source, last_message=outcome.build_error)
            else:
                for outcome in ended:
                    outcome.build_id = build_id
                    self._save(outcome.source, last_build_id=build_id)
        return ended

    def settle(self, timeout: float = 24 * 3600.0) -> bool:
        """Wait until every job this scheduler queued has ended (``collect`` as they do);
        False when ``timeout`` seconds passed first."""
        deadline = time.monotonic() + timeout
        while self.queued:
            self.collect()
            if not self.queued:
                break
            if time.monotonic() >= deadline or self._stopping.is_set():
                return False
            self._refresh("scheduler", self._owner)
            time.sleep(self.poll_seconds)
        return True

    def _crawl_sources(self, config: SourceConfig, should_stop: ShouldStop) -> Run:
        def progress(_: dict[str, Run]) -> None:
            if should_stop():
                raise _Aborted()

        [report] = crawl_sources([config], self.home, sources_file=self.sources_file,
                                 on_progress=progress, poll_seconds=self.poll_seconds)
        return report.run

    def _bring_build_up_to_date(self, key: str) -> int | None:
        """Build (and swap the index in) unless a build since the crawl already did."""
        with self._build_lock, Catalog.in_home(self.home) as catalog:
            if not catalog.needs_build():
                log.info("%s: the build is up to date", key)
                return None
            started = self.clock()
            try:
                report = self.build(catalog)  # type: ignore[misc]
            except Exception:
                log.exception("%s: the build after the crawl failed", key)
                raise
            build_id = getattr(report, "build_id", None)
            log.info("%s: build %s (%s) done in %.1fs", key, build_id,
                     getattr(report, "mode", "?"), (self.clock() - started).total_seconds())
            return build_id

    def _beat(self, lock: str, owner: str, stop: threading.Event) -> None:
        while not stop.wait(LOCK_REFRESH_SECONDS):
            self._refresh(lock, owner)
            self._refresh("scheduler", self._owner)  # `--once` beats only while it crawls

    def _refresh(self, lock: str, owner: str) -> bool:
        """Renew a lock's heartbeat; False when it failed or the lock is no longer ours."""
        try:
            with self._db:
                if self.catalog is not None:
                    return self.catalog.refresh_lock(lock, owner)
        except Exception:  # a missed heartbeat is retried at the next one
            log.exception("could not refresh the lock %s", lock)
        return False

    # ------------------------------------------------------------------ serving
    def serve(self, *, stop: threading.Event | None = None,
              handle_signals: bool = True) -> int:
        """Run the APScheduler jobs until SIGTERM/SIGINT (or ``stop``); returns 0, or 1 when
        the scheduler lost its lock (the catalog went away, or another took over)."""

        if not self.started:
            self.start()
        stop = stop or threading.Event()
        previous: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            def on_signal(signum: int, _frame: Any) -> None:
                name = signal.Signals(signum).name
                if stop.is_set():  # asked twice: stop the running crawls now
                    log.warning("%s received again: stopping the running crawls", name)
                    self._abort.set()
                    return
                log.warning("%s received: stopping the scheduler (running crawls get %.0fs)",
                            name, self.shutdown_grace)
                stop.set()
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, on_signal)
        scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(max(1, len(self.jobs)))},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": int(self.misfire_grace)})
        for key, job in self.jobs.items():
            scheduler.add_job(self._job, trigger=job.trigger, args=[key], id=key,
                              name=f"crawl {key}", next_run_time=job.next_fire)
        scheduler.start()
        for key, fire in sorted(self.next_runs().items(), key=lambda kv: kv[1]):
            log.info("%s: next run at %s (%s)", key, _iso(fire), self.cadences[key].describe())
        code = 0
        try:
            refreshed, missed = time.monotonic(), 0
            while not stop.wait(COLLECT_SECONDS):
                if time.monotonic() - refreshed >= LOCK_REFRESH_SECONDS:
                    missed = 0 if self._refresh("scheduler", self._owner) else missed + 1
                    refreshed = time.monotonic()
                    if missed >= 2:  # the catalog is gone, or another scheduler took over
                        log.critical("lost the catalog's scheduler lock: stopping (a service "
                                     "manager starts the scheduler again)")
                        code = 1
                        break
                try:
                    self.collect()
                except Exception:  # a scheduler outlives a failed look at the queue
                    log.exception("could not collect the ended jobs")
        finally:
            scheduler.shutdown(wait=False)  # no new runs
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return code

    def _job(self, key: str) -> None:
        try:
            self.run_source(key)
        except Exception:  # never let a job kill its executor thread silently
            log.exception("%s: scheduled job failed", key)

    def stop(self, grace: float | None = None) -> bool:
        """Let running crawls finish for ``grace`` seconds, then stop them; release the catalog.

        Returns whether every run ended within the grace time.
        """
        grace = self.shutdown_grace if grace is None else grace
        self._stopping.set()
        with self._idle:
            finished = self._idle.wait_for(lambda: self._active == 0, timeout=grace)
        if not finished:
            log.warning("stopping %d running crawl(s) after %.0fs", self._active, grace)
            self._abort.set()
            with self._idle:
                self._idle.wait_for(lambda: self._active == 0, timeout=max(30.0, grace))
        self.close()
        return finished

    def close(self) -> None:
        """Release the scheduler lock and the catalog connection."""
        with self._db:
            if self.catalog is None:
                return
            try:
                self.catalog.release_lock("scheduler", self._owner)
            except Exception:  # a lost connection released it already
                log.exception("could not release the scheduler lock")
            finally:
                self.catalog.close()
                self.catalog = None  # type: ignore[assignment]

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

