"""How each source is doing, from the catalog alone: what ``agora sources status`` and
the operator page ``/sources`` show.

Per source: its state (ok, partial, degraded, failing, interrupted, running,
never run), the last finished and the current run, the last good run (the
baseline health compares with), fill rates against it, what fell (the problems
the health check recorded in the run's stats), the last errors, the next run
planned. It reads runs, errors, locks, the scheduler's rows and the sources'
registered public configuration (``catalog.sources``): never the sources file.
``overview`` adds what a deployment's operator watches besides: the last build,
the crawl workers with their heartbeats, and the queue (``agora status``).
The judgement itself (is a run degraded?) is the crawlers' (``crawlers.health``);
its verdict is stored with the run, as ``Problem`` rows.

Example:
    >>> Problem("listings", "shop", 40, 5, 20).describe()
    'shop listings fell from 40 to 5 (under 20)'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from catalog.runs import Run
from catalog.sources import RegisteredSource
from catalog.store import Catalog

STATES = ("ok", "partial", "degraded", "failing", "interrupted", "running", "never run")
SCHEDULER_STALE_SECONDS = 600


@dataclass(frozen=True)
class Problem:
    """One figure that fell: listings of a kind, or the fill rate of a field."""

    check: str  # listings | fill
    key: str  # "shop" or "shop.address"
    baseline: float
    current: float
    threshold: float
    example_url: str | None = None

    def describe(self) -> str:
        if self.check == "listings":
            return (f"{self.key} listings fell from {self.baseline:g} to {self.current:g} "
                    f"(under {self.threshold:g})")
        return (f"{self.key} filled in {self.current:.0%} of listings, was {self.baseline:.0%} "
                f"(under {self.threshold:.0%})")


@dataclass
class SourceStatus:
    """One source as the status command and the operator page show it."""

    key: str
    name: str
    enabled: bool
    schedule: dict[str, Any] | None
    state: str
    last_run: dict[str, Any] | None = None  # the last finished crawl run
    current_run: dict[str, Any] | None = None  # a run in progress
    last_good_run: dict[str, Any] | None = None
    next_run_at: str | None = None
    scheduler: dict[str, Any] | None = None  # the schedule_state row
    live_listings: int = 0
    fill: list[dict[str, Any]] = field(default_factory=list)  # per field, with the baseline's
    problems: list[str] = field(default_factory=list)  # what fell, in words
    problem_details: list[dict[str, Any]] = field(default_factory=list)  # Problem fields
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _run_dict(catalog: Catalog, run: Run) -> dict[str, Any]:
    return {
        "id": run.id, "status": run.status, "mode": run.mode, "started_at": run.started_at,
        "finished_at": run.finished_at, "duration_s": run.duration_s, "pages": run.pages,
        "listings": run.listings, "new": run.new, "updated": run.updated, "gone": run.gone,
        "errors": run.errors, "errors_by_kind": catalog.errors_by_kind(run.id),
        "kinds": run.stats.get("kinds") or {}, "message": run.message,
        "resumed": run.resumed,
    }


def source_status(catalog: Catalog, key: str, source: RegisteredSource | None, *,
                  schedule_row: dict[str, Any] | None = None,
                  error_limit: int = 10) -> SourceStatus:
    """One source's status (``source``: its registered entry, None for one no longer
    registered that has runs)."""
    runs = [r for r in catalog.runs(key, limit=30) if r.kind == "crawl"]
    finished = next((r for r in runs if r.finished), None)
    current = runs[0] if runs and not runs[0].finished else None
    status = SourceStatus(key=key, name=source.name if source else key,
                          enabled=source.enabled if source else False,
                          schedule=source.schedule if source else None, state="never run",
                          scheduler=schedule_row, live_listings=catalog.count_listings(key))
    if finished is not None:
        status.last_run = _run_dict(catalog, finished)
        status.state = {"complete": "ok", "partial": "partial", "degraded": "degraded",
                        "failed": "failing"}.get(finished.status, finished.status)
        health = finished.stats.get("health") or {}
        status.problem_details = list(health.get("problems", []))
        status.problems = [Problem(**p).describe() for p in status.problem_details]
        status.errors = [
            {"run_id": e["run_id"], "url": e["url"], "kind": e["kind"], "reason": e["reason"],
             "at": e["at"]} for e in catalog.errors(finished.id, limit=error_limit)]
    baseline = catalog.baseline_run(key)
    if baseline is not None:
        status.last_good_run = {"id": baseline.id, "finished_at": baseline.finished_at,
                                "kinds": baseline.stats.get("kinds") or {}}
    if finished is not None:
        rates = finished.stats.get("fill_rates") or {}
        base_rates = (baseline.stats.get("fill_rates") or {}) if baseline else {}
        fell = {p["key"] for p in (finished.stats.get("health") or {}).get("problems", [])}
        status.fill = [{"field": k, "rate": v, "baseline": base_rates.get(k),
                        "fell": k in fell} for k, v in sorted(rates.items())]
    if current is not None:
        status.current_run = _run_dict(catalog, current)
        status.state = "running" if current.process_alive() else "interrupted"
    if status.state != "running" and catalog.lock_is_held(f"crawl:{key}"):
        status.state = "running"
    if schedule_row and source and source.enabled and source.schedule:
        status.next_run_at = schedule_row.get("next_run_at")
    return status


def source_statuses(catalog: Catalog, *, error_limit: int = 10) -> list[SourceStatus]:
    """Every registered source in order, then any other source the catalog has crawl runs of."""
    registered = {s.key: s for s in catalog.registered_sources()}
    rows = catalog.schedule_states()
    keys = list(registered)
    keys += [source for source in catalog.crawled_sources() if source not in registered]
    return [source_status(catalog, key, registered.get(key), schedule_row=rows.get(key),
                          error_limit=error_limit) for key in keys]


def scheduler_status(catalog: Catalog) -> dict[str, Any]:
    """Whether an ``agora schedule`` process holds the catalog, and since when."""
    holder = catalog.lock_holder("scheduler")
    if holder is None:
        return {"running": False}
    alive = catalog.lock_is_held("scheduler", stale_seconds=SCHEDULER_STALE_SECONDS)
    return {"running": alive, "pid": holder["pid"], "host": holder["host"],
            "since": holder["acquired_at"], "heartbeat_at": holder["heartbeat_at"]}


def workers_status(catalog: Catalog, *, include_stopped: bool = False) -> list[dict[str, Any]]:
    """Every registered crawl worker with its heartbeat, and whether it is alive."""
    return [w.to_dict() for w in catalog.jobs.workers(include_stopped=include_stopped)]


def queue_status(catalog: Catalog, *, recent: int = 10) -> dict[str, Any]:
    """The crawl queue: how many jobs wait and run, the oldest waiting, the last jobs, and
    the running jobs whose worker is dead (waiting to be taken over)."""
    depth = catalog.jobs.depth()
    running = catalog.jobs.jobs(statuses=("running",), limit=1000)
    orphaned = [j.id for j in running if j.worker and not catalog.jobs.worker_alive(j.worker)]
    return {**depth, "orphaned": orphaned,
            "recent": [j.to_dict() for j in catalog.jobs.jobs(limit=recent)]}


def overview(catalog: Catalog) -> dict[str, Any]:
    """What an operator watches, in one read: the catalog, the last build, the scheduler,
    the workers and their heartbeats, the queue, and every source's state."""
    last_build = catalog.entities.last_build()
    sources = source_statuses(catalog, error_limit=1)
    return {
        "catalog": {"engine": catalog.engine, "location": catalog.describe(),
                    "live_listings": catalog.count_listings(),
                    "entities": catalog.entities.counts()},
        "build": None if last_build is None else {
            "id": last_build.id, "mode": last_build.mode, "status": last_build.status,
            "started_at": last_build.started_at, "finished_at": last_build.finished_at},
        "scheduler": scheduler_status(catalog),
        "workers": workers_status(catalog),
        "queue": queue_status(catalog),
        "sources": [{"key": s.key, "name": s.name, "state": s.state,
                     "last_run": s.last_run and {k: s.last_run[k] for k in (
                         "id", "status", "finished_at", "listings", "errors")},
                     "next_run_at": s.next_run_at, "problems": s.problems} for s in sources],
    }
