"""Incremental linking: after a crawl, only what changed is linked again.

A listing changed when its raw content differs from what the matcher last
linked (or it is new, or gone, or a reviewer just decided about it). Two scopes:

- a changed shop listing (or a product naming no seller, or a reviewed pair) can
  move shops: its neighbours are found through the blocking keys stored at the
  last build (the same keys a full build would use), every shop entity they
  belong to is taken apart and linked again with all the offers of those shops;
- a changed or gone offer of a shop whose listings did not change cannot move a
  shop, and offers are only ever compared within their merged shop: only the
  offers of that shop scoring at least the bottom of the review band against the
  changed one, and the offer entities they belong to, are linked again. Only the
  offers a full build could pair with it are read and scored: all those of a
  small shop, those of a big one sharing a blocking key with it (stored by the
  full build for the offers of big shops, within their shop listing, and for every
  changed offer: the shop's other offers are never read). The shop itself is kept
  as stored (``link``'s ``fixed_shops``): its listings did not change and none of
  them is a plausible neighbour of a changed shop listing (else it would be taken
  apart whole with the wide scope), so a full build would give it the same cluster.

Linking uses the last full build's model, word frequencies and brands and the
previous ids. Everything else is left untouched. The result equals a full
rebuild's except where a change would ripple beyond the neighbours of the
neighbours.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from catalog.engine import split_key, utcnow
from catalog.entities import ProductOffer
from catalog.store import Catalog
from dedup.blocking import (
    NEAR_ADDRESSLESS,
    OFFER_MAX_BLOCK,
    SMALL_SHOP,
    addressless,
    geo_neighbours,
    product_keys,
    shop_keys,
)
from dedup.clustering import Decisions
from dedup.errors import NoModel
from dedup.features import (
    BrandIndex,
    TokenStats,
    brand_stats,
    listing_key,
    product_features,
    shop_features,
)
from dedup.linker import link
from dedup.model import MatchModel
from dedup.persist import (
    BLOCK_KEYS_VERSION,
    block_rows,
    brand_keys,
    entity_records,
    load_model,
    load_token_stats,
    offer_block,
    offers_keyed,
    product_record,
    settings_fingerprint,
    updated_product_record,
    write_build,
)
from dedup.scoring import OfferScorer, ProductScorer, ShopScorer
from dedup.settings import MatchSettings
from normalizer import clean_from_dict

log = logging.getLogger(__name__)

FULL_SHARE = 0.30  # beyond this share of changed listings a full build is cheaper


@dataclass(frozen=True)
class Changes:
    """What the next build has to link: (source, source_id) of the live listings changed
    since they were last linked, and of those linked before but gone now."""

    changed: list[tuple[str, str]]
    removed: list[tuple[str, str]]


def pending_changes(catalog: Catalog) -> Changes:
    """The changes waiting for a build (read once: ``wants_full`` and
    ``incremental_dedup`` take them, each scan reads every member of every entity)."""
    return Changes(catalog.clean.changed_since_linked(), catalog.entities.orphan_members())


def wants_full(catalog: Catalog, settings: MatchSettings | None = None,
               changes: Changes | None = None) -> bool:
    """Whether the next dedup must be a full one (first build, new settings, many changes)."""
    if catalog.entities.count() == 0:
        return True
    if catalog.matching.state("name_stats") is None:
        return True
    if catalog.matching.state("block_keys") != BLOCK_KEYS_VERSION:
        return True  # the blocking keys stored are not the ones this build reads
    if catalog.matching.model() is None:  # the model is estimated by full builds only
        return True
    if settings is not None and catalog.matching.state("settings") != settings_fingerprint(
            settings):
        return True
    total = catalog.clean.count()
    changes = changes or pending_changes(catalog)
    return total == 0 or (len(changes.changed) + len(changes.removed)) / total > FULL_SHARE


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


def _floor(kind: Any) -> float:
    """The least score of a pair that can merge or be listed for review."""
    return float(min(kind.threshold, kind.review_band[0]))


def _plausible_neighbours(catalog: Catalog, changed: Iterable[Any], settings: MatchSettings,
                          name_stats: TokenStats, title_stats: TokenStats,
                          model: MatchModel) -> set[str]:
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
                # nearness pairs two shops when either has no street number
                near = geo_neighbours(f.lat, f.lon, settings.shops.blocking.geo_radius_m)
                blocks += near if addressless(f) else [NEAR_ADDRESSLESS + c for c in near]
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
            (shops, ShopScorer(settings.shops, name_stats, model.kinds.get("shop"),
                               max_weight=settings.em.max_weight), shop_features,
             _floor(settings.shops), lambda o: o.kind == "shop"),
            (products, ProductScorer(settings.products, title_stats, model.kinds.get("product"),
                                     max_weight=settings.em.max_weight), product_features,
             _floor(settings.products),
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


@dataclass
class _OfferScope:
    """An offer-only change in one merged shop: what of it is linked again."""

    shop_listings: set[str]  # the shop's own listings (stay one entity)
    offers: set[str]  # its offers linked again
    size: int  # how many offers the shop has in all


def _offer_only(changed_cleans: dict[str, Any], changed_keys: set[str], decided: set[str],
                removed_keys: set[str], old_of: dict[str, str], shop_of_offer: dict[str, str],
                shop_entity: dict[str, str]) -> dict[str, set[str]]:
    """Merged shop -> its changed or gone offers, for the changes that cannot move a shop:
    a product naming a shop listing that did not change and belongs to the same merged
    shop as before (or to one, for a new product), or an offer gone from such a shop."""
    out: dict[str, set[str]] = defaultdict(set)
    for key in changed_keys - decided:
        clean = changed_cleans.get(key)
        if clean is None or clean.kind != "product" or not clean.shop_source_id:
            continue
        shop_key = listing_key(clean.source, clean.shop_source_id)
        shop = shop_entity.get(shop_key)
        old = old_of.get(key)
        if shop is None or shop_key in changed_keys:
            continue
        if old is not None and shop_of_offer.get(old) != shop:
            continue  # it moved between shops, or was a product-level listing
        out[shop].add(key)
    for key in removed_keys:
        old = old_of.get(key, "")
        if old.startswith("offer-") and shop_of_offer.get(old):
            out[shop_of_offer[old]].add(key)
    return out


def _offer_scopes(catalog: Catalog, by_shop: dict[str, set[str]],
                  changed_cleans: dict[str, Any], removed_keys: set[str],
                  scorer: OfferScorer, brands: BrandIndex, stats: TokenStats, floor: float,
                  ) -> tuple[dict[str, _OfferScope], dict[str, Any]]:
    """For each shop, the offers to link again for its changed or gone offers: those
    scoring at least ``floor`` against a changed one, and every member of their entities;
    with the clean listings read (the offers scored or linked again; the shops' own
    listings are not read: the shops stay as stored). A changed offer is scored against the offers a full build could pair it with:
    every offer of a small shop, the offers of a big one sharing a stored blocking key
    with it (``offer_block``); the others are never read. Every shop is read in the same
    few queries."""
    shop_listings = catalog.entities.members_of(by_shop)
    shop_of_listing = catalog.entities.entities_of(shop_listings)
    listings_of: dict[str, set[str]] = defaultdict(set)
    for key, shop in shop_of_listing.items():
        listings_of[shop].add(key)
    blocks = catalog.matching.block_members({"shop:" + k for k in shop_listings}, 10_000_000)
    everyone: dict[str, set[str]] = defaultdict(set)
    for block, keys in blocks.items():
        everyone[shop_of_listing[block.removeprefix("shop:")]] |= keys - removed_keys
    for shop, keys in by_shop.items():
        everyone[shop] |= {k for k in keys if k in changed_cleans}
    # the blocks of the changed offers of big shops, within each listing of their shop
    # (when the last full build keyed that shop's offers: else all of them are read)
    keyed_listings = set(catalog.matching.block_members(
        {offers_keyed(k) for k in shop_listings}, 10_000_000))
    features = {k: product_features(changed_cleans[k], brands)
                for keys in by_shop.values() for k in keys if k in changed_cleans}
    keyed = {k: product_keys(features[k], stats) for shop, keys in by_shop.items()
             if len(everyone[shop]) > SMALL_SHOP
             and all(offers_keyed(listing) in keyed_listings for listing in listings_of[shop])
             for k in keys if k in features}
    shared = catalog.matching.block_members(
        {offer_block(listing, b) for shop, keys in by_shop.items() for k in keys if k in keyed
         for listing in listings_of[shop] for b in keyed[k]}, OFFER_MAX_BLOCK)
    candidates: dict[str, set[str]] = {}
    for shop, keys in by_shop.items():
        for key in keys:
            if key in keyed:
                candidates[key] = everyone[shop] & set().union(*(
                    shared.get(offer_block(listing, b), ()) for listing in listings_of[shop]
                    for b in keyed[key]))
            elif key in features:
                candidates[key] = set(everyone[shop])
    cleans = _load(catalog, set().union(*candidates.values()) - set(changed_cleans))
    cleans.update({k: changed_cleans[k] for k in features})
    chosen: dict[str, set[str]] = {}
    for shop, keys in by_shop.items():
        offers = {k for k in keys if k in features}
        for key in list(offers):
            f = features[key]
            for other in candidates[key] - {key}:
                if other not in features:
                    features[other] = product_features(cleans[other], brands)
                if scorer.score(f, features[other]).total >= floor:
                    offers.add(other)
        chosen[shop] = offers | (keys & removed_keys)
    # every member of the offer entities touched (an entity lies within one shop)
    entity_of = catalog.entities.entities_of(set().union(*chosen.values()))
    mates = catalog.entities.entities_of(catalog.entities.members_of(set(entity_of.values())))
    by_entity: dict[str, set[str]] = defaultdict(set)
    for key, entity in mates.items():
        by_entity[entity].add(key)
    relinked: dict[str, set[str]] = {}
    for shop in by_shop:
        offers = set(chosen[shop])
        for key in chosen[shop]:
            offers |= by_entity.get(entity_of.get(key, ""), set())
        relinked[shop] = offers - removed_keys
    cleans.update(_load(catalog, set().union(*relinked.values()) - set(cleans)))
    scopes = {shop: _OfferScope(listings_of[shop], {k for k in relinked[shop] if k in cleans},
                                len(everyone[shop]))
              for shop in by_shop}
    return scopes, cleans


def incremental_dedup(catalog: Catalog, settings: MatchSettings, build_id: int,
                      decisions: Decisions, changes: Changes | None = None) -> dict[str, Any]:
    """Link again only the changed listings and the entities around them (``changes``:
    ``pending_changes``, read again when not given)."""
    t0 = time.perf_counter()
    changes = changes or pending_changes(catalog)
    changed, removed = changes.changed, changes.removed
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
    seen_brands = brand_keys(catalog)
    changed_cleans = _load(catalog, changed_keys)
    old_of = catalog.entities.entities_of(changed_keys | removed_keys)
    for key, clean in changed_cleans.items():
        if key in old_of:
            continue  # updated: its words are counted already (a small drift, see README)
        if clean.kind == "shop":
            name_stats.add(clean.name_tokens)
        else:
            title_stats.add(clean.title_tokens)

    # changes that cannot move a shop: offers of unchanged shops, linked within their shop
    old_offers = catalog.entities.get_many(e for e in old_of.values() if e.startswith("offer-"))
    shop_of_offer = {e: r["shop_entity_id"] for e, r in old_offers.items()
                     if r.get("shop_entity_id")}
    shop_entity = catalog.entities.entities_of(
        listing_key(c.source, c.shop_source_id) for c in changed_cleans.values()
        if c.kind == "product" and c.shop_source_id)
    brands = BrandIndex(seen_brands)
    offer_scorer = OfferScorer(settings.offers, title_stats, model.kinds.get("offer"),
                               max_weight=settings.em.max_weight,
                               brand_stats=brand_stats(seen_brands))
    by_shop = _offer_only(changed_cleans, changed_keys, decided, removed_keys, old_of,
                          shop_of_offer, shop_entity)
    offer_only = set().union(*by_shop.values()) if by_shop else set()
    wide = changed_keys - offer_only

    # plausible neighbours: listings sharing a stored blocking key that score at least the
    # bottom of the review band against a changed listing (the others could never join it)
    neighbours = _plausible_neighbours(catalog, [changed_cleans[k] for k in wide
                                                 if k in changed_cleans],
                                       settings, name_stats, title_stats, model)

    # the entities touched and all their members; the shops of changed products
    scope = wide | neighbours
    scope |= {listing_key(c.source, c.shop_source_id) for k, c in changed_cleans.items()
              if k in wide and c.kind == "product" and c.shop_source_id}
    affected = set(catalog.entities.entities_of(scope | (removed_keys - offer_only)).values())
    # a shop lists its offers: the shops of the offers taken apart are rebuilt too (else a
    # shop would keep the id of an offer that went)
    offers = catalog.entities.get_many(e for e in affected if e.startswith("offer-"))
    affected |= {r["shop_entity_id"] for r in offers.values() if r.get("shop_entity_id")}
    scope |= catalog.entities.members_of(affected)
    # every product of every shop listing in scope (their offers are linked again)
    live = _load(catalog, scope)
    # (and of the shop listings gone: their products stay, as product-level listings)
    shop_listings = {k for k, c in live.items() if c.kind == "shop"} | (scope & removed_keys)
    products = set().union(*catalog.matching.block_members(
        {"shop:" + k for k in shop_listings}, 10_000_000).values())
    # the offer-only changes of a shop taken apart whole go with it
    gone: set[str] = set()
    for shop in [s for s in by_shop if s in affected]:
        keys = by_shop.pop(shop)
        products |= keys - removed_keys
        gone |= keys & removed_keys
    affected |= set(catalog.entities.entities_of(products | gone).values())
    live.update(_load(catalog, products - scope))
    scope |= products

    # the offer-only changes of the other shops: their neighbourhood in the shop, the shop
    # itself kept as stored (its listings are neither read nor linked again)
    within, read = _offer_scopes(catalog, by_shop, changed_cleans, removed_keys,
                                 offer_scorer, brands, title_stats, _floor(settings.offers))
    for part in within.values():
        live.update({k: read[k] for k in part.offers})
    affected |= set(within) | set(catalog.entities.entities_of(
        set().union(offer_only, *(p.offers for p in within.values()))).values())
    stored_shops = catalog.entities.get_many(within)
    t1 = time.perf_counter()

    previous = catalog.entities.entities_of(set(live) | removed_keys)
    reserved = _TakenIds(catalog, affected)
    # in the catalog's order, as a full build reads them (ties are broken by order)
    ordered = sorted(live.values(), key=lambda c: (c.source, c.source_id))
    result = link(ordered, settings, previous=previous, decisions=decisions,
                  reserved_ids=reserved, name_stats=name_stats, title_stats=title_stats,
                  model=model, brands=seen_brands,
                  offer_shop_sizes={s: p.size for s, p in within.items()},
                  fixed_shops={s: sorted(p.shop_listings) for s, p in within.items()})
    # a shop kept for its offers has the same, unchanged listings: its stored record
    # stands (the offers it lists are set below)
    records = entity_records(result, live, settings, stored_shops={
        shop: stored_shops[shop] for shop in within if shop in stored_shops})
    for shop in within:
        # the shop keeps the offers that were not linked again
        kept = [o for o in stored_shops.get(shop, {}).get("offer_ids", []) if o not in affected]
        ids = records[shop].get("offer_ids", []) + kept
        if ids:
            records[shop]["offer_ids"] = ids
    t2 = time.perf_counter()
    # products compare offers across shops: those touched are updated from their stored
    # record where it tells the result, else rebuilt from every offer they have (the
    # narrow product_offers rows for offers outside the scope)
    gone_by_product: dict[str, list[ProductOffer]] = defaultdict(list)
    for row in catalog.entities.product_offers(affected):
        gone_by_product[row.product_id].append(row)
    offers_by_product: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records.values():
        if rec["kind"] == "offer" and rec.get("product_entity_id"):
            offers_by_product[rec["product_entity_id"]].append(rec)
    touched_products = set(gone_by_product) | set(offers_by_product)
    representatives = catalog.entities.get_many(touched_products)
    rebuilt: set[str] = set()
    for pid in touched_products:
        stored_product = representatives.get(pid)
        updated = None
        if stored_product is not None and offers_by_product.get(pid):
            updated = updated_product_record(stored_product, gone_by_product.get(pid, []),
                                             offers_by_product[pid], settings)
        if updated is None:
            rebuilt.add(pid)
        else:
            records[pid] = updated
    for offer in catalog.entities.offers_of_products(rebuilt):
        if offer.offer_id not in affected and offer.offer_id not in records:
            offers_by_product[offer.product_id].append({
                "entity_id": offer.offer_id, "shop_entity_id": offer.shop_id,
                "price_min": offer.price_min, "price_max": offer.price_max,
                "platforms": offer.platforms})
    for pid in rebuilt:
        if offers_by_product.get(pid):
            records[pid] = product_record(pid, offers_by_product[pid], settings,
                                          representatives.get(pid))
    stale_products = {pid for pid in rebuilt if not offers_by_product.get(pid)}

    t3 = time.perf_counter()
    # every pair among them was scored again (within a shop linked for its offers, every
    # pair of a changed offer)
    relinked = scope | removed_keys | (changed_keys & set(live))
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
                  "shops_offers_only": len(within),
                  "model": f"reused from full build {model_build} (not re-estimated)",
                  "phases_s": {"scope": round(t1 - t0, 3), "link": round(t2 - t1, 3),
                               "products": round(t3 - t2, 3), "write": round(t4 - t3, 3),
                               "bookkeeping": round(time.perf_counter() - t4, 3)}})
    return stats
