"""The build: normalize, then dedup, then index, each stage through the catalog.

``normalize_stage`` turns the catalog's live raw listings into clean ones
(only those whose raw content changed since their last normalization);
``dedup_stage`` links them into entities, fully or incrementally, keeping
entity ids stable and respecting review decisions; the index stage hands the
entities to the search backend. ``build`` chains them and returns what each did.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from catalog.store import Catalog, utcnow
from dedup.clustering import Decisions
from dedup.settings import MatchSettings, load_settings
from normalizer import normalize_listing

log = logging.getLogger(__name__)

BATCH = 2000


@dataclass
class StageReport:
    name: str
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)


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
    conn = catalog.conn
    started = utcnow()
    since = catalog.get_meta("normalized_through")
    if since:
        since = (datetime.fromisoformat(since) - timedelta(seconds=WATERMARK_MARGIN_S)
                 ).isoformat(timespec="milliseconds")
        rows = conn.execute(
            "SELECT l.source, l.source_id, l.data, l.content_hash FROM listings l "
            "LEFT JOIN clean_listings c ON c.source = l.source AND c.source_id = l.source_id "
            "WHERE l.changed_at >= ? AND l.status = 'live' "
            "AND (c.raw_hash IS NULL OR c.raw_hash != l.content_hash)", (since,)).fetchall()
    else:
        rows = conn.execute(
            "SELECT l.source, l.source_id, l.data, l.content_hash FROM listings l "
            "LEFT JOIN clean_listings c ON c.source = l.source AND c.source_id = l.source_id "
            "WHERE l.status = 'live' AND (c.raw_hash IS NULL OR c.raw_hash != l.content_hash)"
        ).fetchall()
    changed = 0
    flagged = 0
    for start in range(0, len(rows), BATCH):
        batch = []
        for row in rows[start:start + BATCH]:
            clean = normalize_listing(json.loads(row["data"]))
            flagged += bool(clean.flags)
            batch.append((row["source"], row["source_id"], clean.kind, row["content_hash"],
                          json.dumps(clean.to_dict(), ensure_ascii=False), len(clean.flags)))
        with catalog.transaction():
            conn.executemany(
                "INSERT INTO clean_listings(source, source_id, kind, raw_hash, data, flags) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(source, source_id) DO UPDATE SET "
                "kind = excluded.kind, raw_hash = excluded.raw_hash, data = excluded.data, "
                "flags = excluded.flags", batch)
        changed += len(batch)
    with catalog.transaction():
        if since:
            gone = conn.execute("SELECT source, source_id FROM listings WHERE status = 'gone' "
                                "AND gone_at >= ?", (since,)).fetchall()
            removed = 0
            for source, source_id in gone:
                removed += conn.execute("DELETE FROM clean_listings WHERE source = ? AND "
                                        "source_id = ?", (source, source_id)).rowcount
        else:
            removed = conn.execute(
                "DELETE FROM clean_listings WHERE NOT EXISTS (SELECT 1 FROM listings l WHERE "
                "l.source = clean_listings.source AND l.source_id = clean_listings.source_id "
                "AND l.status = 'live')").rowcount
        catalog.set_meta("normalized_through", started)
    total = conn.execute("SELECT count(*) FROM clean_listings").fetchone()[0]
    return StageReport("normalize", time.perf_counter() - t0,
                       {"normalized": changed, "removed": removed, "clean_listings": total,
                        "with_flags": flagged})


def load_clean(catalog: Catalog, keys: list[tuple[str, str]] | None = None) -> list[Any]:
    """Clean listings from the catalog (all, or the given (source, source_id))."""
    from normalizer import clean_from_dict  # noqa: PLC0415

    if keys is None:
        rows = catalog.conn.execute("SELECT data FROM clean_listings ORDER BY source, source_id")
        return [clean_from_dict(json.loads(r[0])) for r in rows]
    out = []
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        clause = " OR ".join(["(source = ? AND source_id = ?)"] * len(chunk))
        args = [v for pair in chunk for v in pair]
        for r in catalog.conn.execute(f"SELECT data FROM clean_listings WHERE {clause}", args):
            out.append(clean_from_dict(json.loads(r[0])))
    return out


# --------------------------------------------------------------------------- review decisions
def load_decisions(catalog: Catalog) -> Decisions:
    decisions = Decisions()
    for a, b, decision in catalog.conn.execute("SELECT a, b, decision FROM review_decisions"):
        (decisions.merge if decision == "merge" else decisions.split).add(frozenset((a, b)))
    return decisions


def previous_membership(catalog: Catalog) -> dict[str, str]:
    return {f"{s}:{i}": e for s, i, e in catalog.conn.execute(
        "SELECT source, source_id, entity_id FROM entity_members")}


# --------------------------------------------------------------------------- dedup
def dedup_stage(catalog: Catalog, settings: MatchSettings, build_id: int, *,
                mode: str = "auto") -> StageReport:
    """Link clean listings into entities (full rebuild, or incremental when possible)."""
    from dedup.incremental import incremental_dedup, wants_full  # noqa: PLC0415
    from dedup.persist import full_dedup  # noqa: PLC0415

    t0 = time.perf_counter()
    if mode == "auto":
        mode = "full" if wants_full(catalog, settings) else "incremental"
    if mode == "full":
        figures = full_dedup(catalog, settings, build_id, load_clean(catalog),
                             load_decisions(catalog))
    else:
        figures = incremental_dedup(catalog, settings, build_id, load_decisions(catalog))
    figures["mode"] = mode
    return StageReport("dedup", time.perf_counter() - t0, figures)


def run_dedup(catalog: Catalog, *, settings: MatchSettings | None = None,
              mode: str = "auto") -> StageReport:
    """The dedup stage alone, recorded as a build without indexing (`agora dedup`)."""
    settings = settings or load_settings()
    cur = catalog.conn.execute("INSERT INTO builds(mode, status, started_at) VALUES (?, ?, ?)",
                               (mode, "running", utcnow()))
    build_id = int(cur.lastrowid)
    try:
        report = dedup_stage(catalog, settings, build_id, mode=mode)
    except Exception:
        catalog.conn.execute("UPDATE builds SET status = 'failed', finished_at = ? WHERE id = ?",
                             (utcnow(), build_id))
        raise
    catalog.conn.execute(
        "UPDATE builds SET status = 'complete', mode = ?, finished_at = ?, stats = ? "
        "WHERE id = ?", (report.figures.get("mode", mode), utcnow(),
                         json.dumps({"dedup": report.figures}, default=str), build_id))
    return report


# --------------------------------------------------------------------------- build
def build(catalog: Catalog, *, settings: MatchSettings | None = None, mode: str = "auto",
          index: bool = True, on_stage: Callable[[StageReport], None] | None = None,
          ) -> BuildReport:
    """Normalize, dedup and (unless ``index`` is False) index the catalog."""
    settings = settings or load_settings()
    cur = catalog.conn.execute("INSERT INTO builds(mode, status, started_at) VALUES (?, ?, ?)",
                               (mode, "running", utcnow()))
    build_id = int(cur.lastrowid)
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
            from catalog.indexing import index_stage  # noqa: PLC0415

            result = index_stage(catalog, build_id)
            report.stages.append(result)
            if on_stage:
                on_stage(result)
    except Exception:
        catalog.conn.execute("UPDATE builds SET status = 'failed', finished_at = ? WHERE id = ?",
                             (utcnow(), build_id))
        raise
    stats = {s.name: {"seconds": round(s.seconds, 3), **s.figures} for s in report.stages}
    catalog.conn.execute("UPDATE builds SET status = 'complete', mode = ?, finished_at = ?, "
                         "stats = ? WHERE id = ?",
                         (report.mode, utcnow(), json.dumps(stats, default=str), build_id))
    return report
