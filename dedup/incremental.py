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

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from catalog.engine import split_key, utcnow
from catalog.store import Catalog
from dedup.blocking import geo_neighbours, product_keys, shop_keys
from dedup.clustering import Decisions
from dedup.errors import NoModel
from dedup.features import TokenStats, listing_key, product_features, shop_features
from dedup.linker import link
from dedup.persist import (
    block_rows,
    entity_records,
    load_model,
    load_token_stats,
    product_record,
    settings_fingerprint,
    write_build,
)
from dedup.scoring import ProductScorer, ShopScorer
from dedup.settings import MatchSettings
from normalizer import clean_from_dict

log = logging.getLogger(__name__)

FULL_SHARE = 0.30  # beyond this share of changed listings a full build is cheaper


def _changed_keys(catalog: Catalog) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(changed live listings, listings linked before but gone now)."""
    return catalog.clean.changed_since_linked(), catalog.entities.orphan_members()


def wants_full(catalog: Catalog, settings: MatchSettings | None = None) -> bool:
    """Whether the next dedup must be a full one (first build, new settings, many changes)."""
    if catalog.entities.count() == 0:
        return True
    if catalog.matching.state("name_stats") is None:
        return True
    if catalog.matching.model() is None:  # the model is estimated by full builds only
        return True
    if settings is not None and catalog.matching.state("settings") != settings_fingerprint(
            settings):
        return True
    total = catalog.clean.count()
    changed, removed = _changed_keys(catalog)
    return total == 0 or (len(changed) + len(removed)) / total > FULL_SHARE


def _load(catalog: Catalog, keys: Iterable[str]) -> dict[str, Any]:
    """Clean listings by listing key."""
    out: dict[str, Any] = {}
    for data in catalog.clean.load(split_key(k) for k in keys):
        clean = clean_from_dict(data)
        out[listing_key(clean.source, clean.source_id)] = clean
    return out


class _TakenIds:
    """Entity ids in use outside the re-linked entities, looked up when asked."""

    def __init__(self, catalog: Catalog, freed: set[str]) -> None:
        self.catalog, self.freed = catalog, freed

    def __contains__(self, entity_id: object) -> bool:
        if entity_id in self.freed or not isinstance(entity_id, str):
            return False
        return self.catalog.entities.exists(entity_id)


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
        members = catalog.matching.block_members({b for _, bs in wanted for b in bs}, max_block)
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
    last_build = catalog.entities.last_complete_build()
    decided: set[str] = set()
    if last_build:
        for a, b in catalog.matching.decided_since(last_build.started_at):
            decided.update((a, b))
    changed_keys = {listing_key(s, i) for s, i in changed} | decided
    removed_keys = {listing_key(s, i) for s, i in removed}
    if not changed_keys and not removed_keys:
        catalog.entities.record_presence(build_id)  # one snapshot per build (overlap over time)
        return {"changed": 0, "removed": 0, "relinked": 0, "entities_written": 0}

    stored = load_model(catalog)
    if stored is None:
        raise NoModel("no match model stored yet: an incremental build needs a full one first")
    model_build, model = stored[0].build_id, stored[1]
    name_stats = load_token_stats(catalog, "name_stats")
    title_stats = load_token_stats(catalog, "title_stats")
    changed_cleans = _load(catalog, changed_keys)
    old_entities = catalog.entities.entities_of(changed_keys)
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
    affected = set(catalog.entities.entities_of(scope | removed_keys).values())
    # a shop lists its offers: the shops of the offers taken apart are rebuilt too (else a
    # shop would keep the id of an offer that went)
    offers = catalog.entities.get_many(e for e in affected if e.startswith("offer-"))
    affected |= {r["shop_entity_id"] for r in offers.values() if r.get("shop_entity_id")}
    scope |= catalog.entities.members_of(affected)
    # every product of every shop listing in scope (their offers are linked again)
    live = _load(catalog, scope)
    shop_listings = {k for k, c in live.items() if c.kind == "shop"}
    products = set().union(*catalog.matching.block_members(
        {"shop:" + k for k in shop_listings}, 10_000_000).values())
    affected |= set(catalog.entities.entities_of(products).values())
    live.update(_load(catalog, products - scope))
    scope |= products
    t1 = time.perf_counter()

    previous = catalog.entities.entities_of(scope | removed_keys)
    reserved = _TakenIds(catalog, affected)
    result = link(list(live.values()), settings, previous=previous, decisions=decisions,
                  reserved_ids=reserved, name_stats=name_stats, title_stats=title_stats,
                  model=model)
    records = entity_records(result, live, settings)
    t2 = time.perf_counter()

    # products compare offers across shops: rebuild those touched, from every offer they
    # have (the narrow product_offers rows for offers outside the scope)
    old_products = catalog.entities.products_of_offers(affected)
    offers_by_product: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records.values():
        if rec["kind"] == "offer" and rec.get("product_entity_id"):
            offers_by_product[rec["product_entity_id"]].append(rec)
    touched_products = old_products | set(offers_by_product)
    for offer in catalog.entities.offers_of_products(touched_products):
        if offer.offer_id not in affected and offer.offer_id not in records:
            offers_by_product[offer.product_id].append({
                "entity_id": offer.offer_id, "shop_entity_id": offer.shop_id,
                "price_min": offer.price_min, "price_max": offer.price_max,
                "platforms": offer.platforms})
    representatives = catalog.entities.get_many(touched_products)
    for pid in touched_products:
        if offers_by_product.get(pid):
            records[pid] = product_record(pid, offers_by_product[pid], settings,
                                          representatives.get(pid))
    stale_products = {pid for pid in touched_products if not offers_by_product.get(pid)}

    t3 = time.perf_counter()
    relinked = scope | removed_keys  # every pair among them was scored again
    write_build(catalog, result, records, build_id, relinked=relinked,
                removed_entities=affected | stale_products)
    t4 = time.perf_counter()
    with catalog.transaction():
        # block keys follow content: only changed and removed listings get new ones
        catalog.matching.rekey(changed_keys | removed_keys,
                               block_rows([live[k] for k in changed_keys if k in live],
                                          name_stats, title_stats))
        catalog.matching.save_state({
            "name_stats": json.dumps(name_stats.to_dict()),
            "title_stats": json.dumps(title_stats.to_dict()),
            "settings": settings_fingerprint(settings), "linked_at": utcnow()})
        catalog.clean.mark_linked(split_key(k) for k in changed_keys if k in live)
    catalog.entities.record_presence(build_id)
    stats = result.stats()
    stats.update({"changed": len(changed_keys), "removed": len(removed_keys),
                  "relinked": len(live), "entities_written": len(records),
                  "entities_replaced": len(affected),
                  "model": f"reused from full build {model_build} (not re-estimated)",
                  "phases_s": {"scope": round(t1 - t0, 3), "link": round(t2 - t1, 3),
                               "products": round(t3 - t2, 3), "write": round(t4 - t3, 3),
                               "bookkeeping": round(time.perf_counter() - t4, 3)}})
    return stats
