"""The build: normalize, then dedup, then index, each stage through the catalog.

``normalize_stage`` turns the catalog's live raw listings into clean ones
(only those whose raw content changed since their last normalization);
``dedup_stage`` links them into entities, fully or incrementally, keeping
entity ids stable and respecting review decisions; the index stage hands the
entities to the search backend. ``build`` chains them and returns what each did.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from catalog.clean import CleanRow
from catalog.engine import utcnow
from catalog.indexing import index_stage
from catalog.reports import StageReport
from catalog.store import Catalog
from dedup.incremental import incremental_dedup, wants_full
from dedup.persist import full_dedup, load_cleans, load_decisions
from dedup.settings import MatchSettings, load_settings
from normalizer import normalize_listing

__all__ = ["BuildReport", "StageReport", "build", "dedup_stage", "normalize_stage", "run_dedup"]

BATCH = 2000


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
    changed = 0
    flagged = 0
    for start in range(0, len(raws), BATCH):
        batch = []
        for raw in raws[start:start + BATCH]:
            clean = normalize_listing(raw.data)
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
    if mode == "auto":
        mode = "full" if wants_full(catalog, settings) else "incremental"
    if mode == "full":
        figures = full_dedup(catalog, settings, build_id, load_cleans(catalog),
                             load_decisions(catalog))
    else:
        figures = incremental_dedup(catalog, settings, build_id, load_decisions(catalog))
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


# --------------------------------------------------------------------------- build
def build(catalog: Catalog, *, settings: MatchSettings | None = None, mode: str = "auto",
          index: bool = True, on_stage: Callable[[StageReport], None] | None = None,
          ) -> BuildReport:
    """Normalize, dedup and (unless ``index`` is False) index the catalog."""
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
            result = index_stage(catalog, build_id)
            report.stages.append(result)
            if on_stage:
                on_stage(result)
    except Exception:
        catalog.entities.fail_build(build_id)
        raise
    stats = {s.name: {"seconds": round(s.seconds, 3), **s.figures} for s in report.stages}
    catalog.entities.complete_build(build_id, report.mode, stats)
    return report
