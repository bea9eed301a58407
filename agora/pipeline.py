"""The build: normalize, then dedup, then index, each stage through the catalog.

``normalize_stage`` turns the catalog's live raw listings into clean ones
(only those whose raw content changed since their last normalization);
``dedup_stage`` links them into entities, fully or incrementally, keeping
entity ids stable and respecting review decisions; the index stage hands the
entities to the search backend. ``build`` chains them and returns what each did.

One build at a time per catalog: ``build`` holds the catalog's ``build`` lock
(waiting up to ``lock_wait`` seconds for another process's build to end). A
catalog on a server keeps its embedded search index in AGORA_HOME
(``index_entities``); with Elasticsearch, the index is the cluster's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agora import settings as agora_settings
from catalog.backends import SearchBackend
from catalog.clean import CleanRow
from catalog.engine import utcnow
from catalog.errors import CatalogLocked
from catalog.indexing import index_stage
from catalog.reports import StageReport
from catalog.store import Catalog
from dedup.incremental import incremental_dedup, pending_changes, wants_full
from dedup.persist import full_dedup, load_cleans, load_decisions
from dedup.settings import MatchSettings, load_settings
from normalizer import normalize_listing

__all__ = ["BuildReport", "StageReport", "build", "dedup_stage", "index_entities",
           "normalize_stage", "run_dedup"]

BATCH = 2000
BUILD_LOCK = "build"
# A build's process is judged by its pid (SQLite: one machine) or its connection
# (PostgreSQL), never by age: a long build is not a dead one.
BUILD_LOCK_STALE_SECONDS = 24 * 3600.0


@dataclass
class BuildReport:
    build_id: int
    mode: str
    stages: list[StageReport] = field(default_factory=list)

    def stage(self, name: str) -> StageReport | None:
        return next((s for s in self.stages if s.name == name), None)


# --------------------------------------------------------------------------- normalize
WATERMARK_MARGIN_S = 600  # a crawl committing late must not slip under the watermark


def normalize_stage(catalog: Catalog) -> StageReport:
    """Normalize every live listing whose raw content changed; drop clean rows of gone ones.

    After the first build only listings changed (or gone) since the last one, minus a
    safety margin, are looked at; the content hash decides what is normalized again.
    """
    t0 = time.perf_counter()
    started = utcnow()
    since = catalog.get_meta("normalized_through")
    if since:
        since = (datetime.fromisoformat(since) - timedelta(seconds=WATERMARK_MARGIN_S)
                 ).isoformat(timespec="milliseconds")
    raws = catalog.clean.to_normalize(since)
    area = agora_settings.territories().area()  # where coordinates may lie
    changed = 0
    flagged = 0
    for start in range(0, len(raws), BATCH):
        batch = []
        for raw in raws[start:start + BATCH]:
            clean = normalize_listing(raw.data, territory=area)
            flagged += bool(clean.flags)
            batch.append(CleanRow(raw.source, raw.source_id, clean.kind, raw.content_hash,
                                  clean.to_dict(), len(clean.flags)))
        changed += catalog.clean.save(batch)
    with catalog.transaction():
        removed = (catalog.clean.remove_gone_since(since) if since
                   else catalog.clean.remove_not_live())
        catalog.set_meta("normalized_through", started)
    return StageReport("normalize", time.perf_counter() - t0,
                       {"normalized": changed, "removed": removed,
                        "clean_listings": catalog.clean.count(), "with_flags": flagged})


# --------------------------------------------------------------------------- dedup
def dedup_stage(catalog: Catalog, settings: MatchSettings, build_id: int, *,
                mode: str = "auto") -> StageReport:
    """Link clean listings into entities (full rebuild, or incremental when possible)."""
    t0 = time.perf_counter()
    # what changed, read once for both (none to read before the first build)
    changes = pending_changes(catalog) if mode != "full" and catalog.entities.count() else None
    if mode == "auto":
        mode = "full" if wants_full(catalog, settings, changes) else "incremental"
    if mode == "full":
        figures = full_dedup(catalog, settings, build_id, load_cleans(catalog),
                             load_decisions(catalog))
    else:
        figures = incremental_dedup(catalog, settings, build_id, load_decisions(catalog),
                                    changes)
    figures["mode"] = mode
    return StageReport("dedup", time.perf_counter() - t0, figures)


def run_dedup(catalog: Catalog, *, settings: MatchSettings | None = None,
              mode: str = "auto") -> StageReport:
    """The dedup stage alone, recorded as a build without indexing (`agora dedup`)."""
    settings = settings or load_settings()
    build_id = catalog.entities.begin_build(mode)
    try:
        report = dedup_stage(catalog, settings, build_id, mode=mode)
    except Exception:
        catalog.entities.fail_build(build_id)
        raise
    catalog.entities.complete_build(build_id, report.figures.get("mode", mode),
                                    {"dedup": report.figures})
    return report


# --------------------------------------------------------------------------- index
def index_backend(catalog: Catalog) -> SearchBackend | None:
    """The backend to index ``catalog`` into when the default cannot place it: a catalog
    on a server keeps its embedded index in AGORA_HOME (None: the default's)."""
    if catalog.engine == "sqlite":
        return None
    return agora_settings.open_search_backend(catalog.path)


def index_entities(catalog: Catalog, build_id: int) -> StageReport:
    """The index stage alone: the catalog's entities into the search backend."""
    backend = index_backend(catalog)
    try:
        return index_stage(catalog, build_id, backend,
                           territories=agora_settings.all_territories())
    finally:
        if backend is not None:
            backend.close()


# --------------------------------------------------------------------------- build
def _take_build_lock(catalog: Catalog, owner: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        holder = catalog.acquire_lock(BUILD_LOCK, owner, stale_seconds=BUILD_LOCK_STALE_SECONDS)
        if holder is None:
            return
        if time.monotonic() >= deadline:
            raise CatalogLocked(f"another build runs on this catalog (pid {holder['pid']} on "
                                f"{holder['host']}, since {str(holder['acquired_at'])[:19]})")
        time.sleep(0.5)


def build(catalog: Catalog, *, settings: MatchSettings | None = None, mode: str = "auto",
          index: bool = True, on_stage: Callable[[StageReport], None] | None = None,
          lock_wait: float = 600.0) -> BuildReport:
    """Normalize, dedup and (unless ``index`` is False) index the catalog.

    Raises:
        CatalogLocked: another build held the catalog for longer than ``lock_wait`` s.
    """
    owner = f"build-{uuid.uuid4().hex[:12]}"
    _take_build_lock(catalog, owner, lock_wait)
    try:
        return _build(catalog, settings=settings, mode=mode, index=index, on_stage=on_stage)
    finally:
        catalog.release_lock(BUILD_LOCK, owner)


def _build(catalog: Catalog, *, settings: MatchSettings | None, mode: str, index: bool,
           on_stage: Callable[[StageReport], None] | None) -> BuildReport:
    settings = settings or load_settings()
    build_id = catalog.entities.begin_build(mode)
    report = BuildReport(build_id, mode)
    try:
        for stage in (lambda: normalize_stage(catalog),
                      lambda: dedup_stage(catalog, settings, build_id, mode=mode)):
            result = stage()
            report.stages.append(result)
            if on_stage:
                on_stage(result)
        report.mode = report.stages[-1].figures.get("mode", mode)
        if index:
            result = index_entities(catalog, build_id)
            report.stages.append(result)
            if on_stage:
                on_stage(result)
    except Exception:
        catalog.entities.fail_build(build_id)
        raise
    stats = {s.name: {"seconds": round(s.seconds, 3), **s.figures} for s in report.stages}
    catalog.entities.complete_build(build_id, report.mode, stats)
    return report
