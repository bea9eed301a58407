"""Incremental linking: after a crawl, only what changed is linked again.

A listing changed when its raw content differs from what the matcher last
linked (or it is new, or gone, or a reviewer just decided about it). Its
neighbours are found through the blocking keys stored at the last build (the
same keys a full build would use), then every entity they or the changed
listings belong to is taken apart and linked again together, shops first, then
the offers of those shops, with the corpus's word frequencies and the previous
ids. Everything else is left untouched. The result equals a full rebuild's
except where a change would ripple beyond the neighbours of the neighbours.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from catalog.store import Catalog, utcnow
from dedup.blocking import geo_neighbours, product_keys, shop_keys
from dedup.clustering import Decisions
from dedup.features import TokenStats, listing_key, product_features, shop_features
from dedup.linker import link
from dedup.persist import (
    _product_record,
    block_rows,
    entity_records,
    record_presence,
    write_build,
)
from dedup.scoring import ProductScorer, ShopScorer
from dedup.settings import MatchSettings

log = logging.getLogger(__name__)

FULL_SHARE = 0.30  # beyond this share of changed listings a full build is cheaper


def settings_fingerprint(settings: MatchSettings) -> str:
    return hashlib.blake2b(repr(settings).encode(), digest_size=8).hexdigest()


def _state(catalog: Catalog, key: str) -> str | None:
    row = catalog.conn.execute("SELECT value FROM match_state WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _changed_keys(catalog: Catalog) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(changed live listings, listings linked before but gone now)."""
    changed = [(r[0], r[1]) for r in catalog.conn.execute(
        "SELECT source, source_id FROM clean_listings "
        "WHERE linked_hash IS NULL OR linked_hash != raw_hash")]
    removed = [(r[0], r[1]) for r in catalog.conn.execute(
        "SELECT m.source, m.source_id FROM entity_members m WHERE NOT EXISTS (SELECT 1 FROM "
        "clean_listings c WHERE c.source = m.source AND c.source_id = m.source_id)")]
    return changed, removed


def wants_full(catalog: Catalog, settings: MatchSettings | None = None) -> bool:
    """Whether the next dedup must be a full one (first build, new settings, many changes)."""
    conn = catalog.conn
    if conn.execute("SELECT count(*) FROM entities").fetchone()[0] == 0:
        return True
    if _state(catalog, "name_stats") is None:
        return True
    if settings is not None and _state(catalog, "settings") != settings_fingerprint(settings):
        return True
    total = conn.execute("SELECT count(*) FROM clean_listings").fetchone()[0]
    changed, removed = _changed_keys(catalog)
    return total == 0 or (len(changed) + len(removed)) / total > FULL_SHARE


def mark_linked(catalog: Catalog, keys: Iterable[tuple[str, str]] | None = None) -> None:
    """Remember the raw content each listing was linked from."""
    with catalog.transaction():
        if keys is None:
            catalog.conn.execute("UPDATE clean_listings SET linked_hash = raw_hash")
        else:
            catalog.conn.executemany(
                "UPDATE clean_listings SET linked_hash = raw_hash WHERE source = ? AND "
                "source_id = ?", list(keys))


def _block_members(catalog: Catalog, blocks: set[str], max_block: int) -> dict[str, set[str]]:
    """The listings of each stored block, for blocks of at most ``max_block`` listings."""
    members: dict[str, set[str]] = defaultdict(set)
    items = sorted(blocks)
    for start in range(0, len(items), 400):
        chunk = items[start:start + 400]
        marks = ",".join("?" * len(chunk))
        sizes = dict(catalog.conn.execute(
            f"SELECT block, count(*) FROM block_keys WHERE block IN ({marks}) GROUP BY block",
            chunk).fetchall())
        usable = [b for b in chunk if 0 < sizes.get(b, 0) <= max_block]
        if not usable:
            continue
        marks = ",".join("?" * len(usable))
        for block, source, source_id in catalog.conn.execute(
                f"SELECT block, source, source_id FROM block_keys WHERE block IN ({marks})",
                usable):
            members[block].add(listing_key(source, source_id))
    return members


def _listings_in_blocks(catalog: Catalog, blocks: set[str], max_block: int) -> set[str]:
    return set().union(*_block_members(catalog, blocks, max_block).values())


def _entities_of(catalog: Catalog, keys: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    items = sorted(set(keys))
    for start in range(0, len(items), 400):
        chunk = [k.partition(":") for k in items[start:start + 400]]
        clause = " OR ".join(["(source = ? AND source_id = ?)"] * len(chunk))
        args = [v for s, _, i in chunk for v in (s, i)]
        for s, i, e in catalog.conn.execute(
                f"SELECT source, source_id, entity_id FROM entity_members WHERE {clause}", args):
            out[listing_key(s, i)] = e
    return out


def _members_of(catalog: Catalog, entity_ids: Iterable[str]) -> set[str]:
    out: set[str] = set()
    items = sorted(set(entity_ids))
    for start in range(0, len(items), 400):
        chunk = items[start:start + 400]
        marks = ",".join("?" * len(chunk))
        for s, i in catalog.conn.execute(
                f"SELECT source, source_id FROM entity_members WHERE entity_id IN ({marks})",
                chunk):
            out.add(listing_key(s, i))
    return out


def _load(catalog: Catalog, keys: Iterable[str]) -> dict[str, Any]:
    from normalizer import clean_from_dict  # noqa: PLC0415

    out: dict[str, Any] = {}
    items = sorted(set(keys))
    for start in range(0, len(items), 400):
        chunk = [k.partition(":") for k in items[start:start + 400]]
        clause = " OR ".join(["(source = ? AND source_id = ?)"] * len(chunk))
        args = [v for s, _, i in chunk for v in (s, i)]
        for (data,) in catalog.conn.execute(
                f"SELECT data FROM clean_listings WHERE {clause}", args):
            clean = clean_from_dict(json.loads(data))
            out[listing_key(clean.source, clean.source_id)] = clean
    return out


class _TakenIds:
    """Entity ids in use outside the re-linked entities, looked up when asked."""

    def __init__(self, catalog: Catalog, freed: set[str]) -> None:
        self.catalog, self.freed = catalog, freed

    def __contains__(self, entity_id: object) -> bool:
        if entity_id in self.freed:
            return False
        return self.catalog.conn.execute("SELECT 1 FROM entities WHERE entity_id = ?",
                                         (entity_id,)).fetchone() is not None


def _plausible_neighbours(catalog: Catalog, changed: Iterable[Any], settings: MatchSettings,
                          name_stats: TokenStats, title_stats: TokenStats) -> set[str]:
    """Stored listings sharing a block with a changed shop (or shopless product) and
    scoring at least the bottom of the review band against it.

    The blocks of every changed listing are read in one pass and each neighbour is
    loaded once, however many changed listings share it (the geo cells of a dense
    quarter are shared by hundreds).
    """
    shops: list[tuple[Any, list[str]]] = []
    products: list[tuple[Any, list[str]]] = []
    for clean in changed:
        if clean.kind == "shop":
            f = shop_features(clean)
            blocks = shop_keys(f, name_stats)
            if f.lat is not None and f.lon is not None:
                blocks += geo_neighbours(f.lat, f.lon, settings.shops.blocking.geo_radius_m)
            shops.append((f, blocks))
        elif not clean.shop_source_id:
            p = product_features(clean)
            products.append((p, product_keys(p, title_stats)))
    candidates: dict[Any, set[str]] = {}
    for wanted, max_block in ((shops, settings.shops.blocking.max_block),
                              (products, settings.products.blocking.max_block)):
        members = _block_members(catalog, {b for _, bs in wanted for b in bs}, max_block)
        for f, bs in wanted:
            candidates[f.key] = set().union(*(members.get(b, ()) for b in bs)) - {f.key}
    others = _load(catalog, set().union(*candidates.values()))
    neighbours: set[str] = set()
    for wanted, scorer, featurize, floor, comparable in (
            (shops, ShopScorer(settings.shops, name_stats), shop_features,
             settings.shops.review_band[0], lambda o: o.kind == "shop"),
            (products, ProductScorer(settings.products, title_stats), product_features,
             settings.products.review_band[0],
             lambda o: o.kind == "product" and not o.shop_source_id)):
        features: dict[str, Any] = {}
        for f, _ in wanted:
            for key in candidates[f.key] - neighbours:
                other = others.get(key)
                if other is None or not comparable(other):
                    continue
                if key not in features:
                    features[key] = featurize(other)
                if scorer.score(f, features[key]).total >= floor:
                    neighbours.add(key)
    return neighbours


def incremental_dedup(catalog: Catalog, settings: MatchSettings, build_id: int,
                      decisions: Decisions) -> dict[str, Any]:
    """Link again only the changed listings and the entities around them."""
    t0 = time.perf_counter()
    changed, removed = _changed_keys(catalog)
    last_build = catalog.conn.execute(
        "SELECT started_at FROM builds WHERE status = 'complete' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    decided: set[str] = set()
    if last_build:
        for a, b in catalog.conn.execute("SELECT a, b FROM review_decisions WHERE at >= ?",
                                         (last_build[0],)):
            decided.update((a, b))
    changed_keys = {listing_key(s, i) for s, i in changed} | decided
    removed_keys = {listing_key(s, i) for s, i in removed}
    if not changed_keys and not removed_keys:
        record_presence(catalog, build_id)  # one snapshot per build, for overlap over time
        return {"changed": 0, "removed": 0, "relinked": 0, "entities_written": 0}

    name_stats = TokenStats.from_dict(json.loads(_state(catalog, "name_stats") or "{}"))
    title_stats = TokenStats.from_dict(json.loads(_state(catalog, "title_stats") or "{}"))
    changed_cleans = _load(catalog, changed_keys)
    old_entities = _entities_of(catalog, changed_keys)
    for key, clean in changed_cleans.items():
        if key in old_entities:
            continue  # updated: its words are counted already (a small drift, see README)
        if clean.kind == "shop":
            name_stats.add(clean.name_tokens)
        else:
            title_stats.add(clean.title_tokens)

    # plausible neighbours: listings sharing a stored blocking key that score at least the
    # bottom of the review band against a changed listing (the others could never join it)
    neighbours = _plausible_neighbours(catalog, changed_cleans.values(), settings,
                                       name_stats, title_stats)

    # the entities touched and all their members; the shops of changed products
    scope = set(changed_keys) | neighbours
    scope |= {listing_key(c.source, c.shop_source_id) for c in changed_cleans.values()
              if c.kind == "product" and c.shop_source_id}
    affected = set(_entities_of(catalog, scope | removed_keys).values())
    scope |= _members_of(catalog, affected)
    # every product of every shop listing in scope (their offers are linked again)
    live = _load(catalog, scope)
    shop_listings = {k for k, c in live.items() if c.kind == "shop"}
    products = _listings_in_blocks(catalog, {"shop:" + k for k in shop_listings}, 10_000_000)
    affected |= set(_entities_of(catalog, products).values())
    live.update(_load(catalog, products - scope))
    scope |= products
    t1 = time.perf_counter()

    previous = _entities_of(catalog, scope | removed_keys)
    reserved = _TakenIds(catalog, affected)
    result = link(list(live.values()), settings, previous=previous, decisions=decisions,
                  reserved_ids=reserved, name_stats=name_stats, title_stats=title_stats)
    records = entity_records(result, live, settings)
    t2 = time.perf_counter()

    # products compare offers across shops: rebuild those touched, from every offer they
    # have (the narrow product_offers rows for offers outside the scope)
    old_products: set[str] = set()
    items = sorted(affected)
    for start in range(0, len(items), 400):
        chunk = items[start:start + 400]
        marks = ",".join("?" * len(chunk))
        old_products.update(r[0] for r in catalog.conn.execute(
            f"SELECT DISTINCT product_id FROM product_offers WHERE offer_id IN ({marks})", chunk))
    offers_by_product: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records.values():
        if rec["kind"] == "offer" and rec.get("product_entity_id"):
            offers_by_product[rec["product_entity_id"]].append(rec)
    touched_products = old_products | set(offers_by_product)
    representatives: dict[str, dict[str, Any]] = {}
    items = sorted(touched_products)
    for start in range(0, len(items), 400):
        chunk = items[start:start + 400]
        marks = ",".join("?" * len(chunk))
        for pid, offer_id, shop_id, pmin, pmax, platforms in catalog.conn.execute(
                "SELECT product_id, offer_id, shop_id, price_min, price_max, platforms "
                f"FROM product_offers WHERE product_id IN ({marks})", chunk):
            if offer_id not in affected and offer_id not in records:
                offers_by_product[pid].append({
                    "entity_id": offer_id, "shop_entity_id": shop_id, "price_min": pmin,
                    "price_max": pmax, "platforms": platforms.split(",") if platforms else []})
        for pid, data in catalog.conn.execute(
                f"SELECT entity_id, data FROM entities WHERE entity_id IN ({marks})", chunk):
            representatives[pid] = json.loads(data)
    for pid in touched_products:
        if offers_by_product.get(pid):
            records[pid] = _product_record(pid, offers_by_product[pid], settings,
                                           representatives.get(pid))
    stale_products = {pid for pid in touched_products if not offers_by_product.get(pid)}

    t3 = time.perf_counter()
    write_build(catalog, result, records, build_id, replace_all=False,
                removed_entities=affected | stale_products)
    t4 = time.perf_counter()
    with catalog.transaction():
        conn = catalog.conn
        # block keys follow content: only changed and removed listings get new ones
        rekeyed = sorted(changed_keys | removed_keys)
        conn.executemany("DELETE FROM block_keys WHERE source = ? AND source_id = ?",
                         [tuple(k.split(":", 1)) for k in rekeyed])
        conn.executemany("INSERT INTO block_keys(block, source, source_id) VALUES (?, ?, ?)",
                         block_rows([live[k] for k in changed_keys if k in live],
                                    name_stats, title_stats))
        # every pair among the re-linked listings was scored again
        relinked = sorted(scope | removed_keys)
        conn.executemany("DELETE FROM review_pairs WHERE a = ?", [(k,) for k in relinked])
        conn.executemany("DELETE FROM review_pairs WHERE b = ?", [(k,) for k in relinked])
        conn.executemany(
            "INSERT OR REPLACE INTO review_pairs(kind, a, b, score, build_id) "
            "VALUES (?, ?, ?, ?, ?)", [(k, s.a, s.b, s.total, build_id) for k, s in result.review])
        for key, stats in (("name_stats", name_stats), ("title_stats", title_stats)):
            conn.execute("INSERT OR REPLACE INTO match_state(key, value) VALUES (?, ?)",
                         (key, json.dumps(stats.to_dict())))
        conn.execute("INSERT OR REPLACE INTO match_state(key, value) VALUES ('settings', ?)",
                     (settings_fingerprint(settings),))
        conn.execute("INSERT OR REPLACE INTO match_state(key, value) VALUES ('linked_at', ?)",
                     (utcnow(),))
    mark_linked(catalog, [tuple(k.split(":", 1)) for k in changed_keys
                          if k in live])  # type: ignore[misc]
    record_presence(catalog, build_id)
    stats = result.stats()
    stats.update({"changed": len(changed_keys), "removed": len(removed_keys),
                  "relinked": len(live), "entities_written": len(records),
                  "entities_replaced": len(affected),
                  "phases_s": {"scope": round(t1 - t0, 3), "link": round(t2 - t1, 3),
                               "products": round(t3 - t2, 3), "write": round(t4 - t3, 3),
                               "bookkeeping": round(time.perf_counter() - t4, 3)}})
    return stats
