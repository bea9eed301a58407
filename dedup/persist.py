"""Storing what the linker found: entities, members, review pairs, and state for next time.

The linker is pure; this module is its adapter to the catalog, through the
catalog's entity and match stores (``catalog.entities``, ``catalog.matching``).
``full_dedup`` replaces every entity in one transaction (readers never see half
a build) and stores the model it estimated (``save_model``); an incremental build
reuses the last full build's (``load_model``), never estimating one of its own. ``entity_records`` builds the merged records (survivorship) for a set
of clusters, ``product_record`` a product from its offers, ``write_build`` stores
them: all three are shared with the incremental build (``dedup.incremental``).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any

from catalog.entities import Member, ProductOffer
from catalog.matching import ReviewPair, StoredModel
from catalog.store import Catalog
from dedup.blocking import (
    NEAR_ADDRESSLESS,
    SMALL_SHOP,
    addressless,
    geo_cell,
    product_keys,
    shop_keys,
)
from dedup.clustering import Decisions
from dedup.features import TokenStats, listing_key, product_features, shop_features
from dedup.linker import LinkResult, link
from dedup.model import MatchModel
from dedup.settings import MatchSettings
from dedup.survivorship import merge_offer, merge_shop, product_key_of
from normalizer import clean_from_dict


def product_entity_id(product_key: str) -> str:
    return "product-" + hashlib.blake2b(product_key.encode(), digest_size=6).hexdigest()


def settings_fingerprint(settings: MatchSettings) -> str:
    """A short digest of the settings: a build under other settings must be a full one."""
    return hashlib.blake2b(repr(settings).encode(), digest_size=8).hexdigest()


# --------------------------------------------------------------------------- reading
def load_cleans(catalog: Catalog, keys: Iterable[tuple[str, str]] | None = None) -> list[Any]:
    """Clean listings of the catalog (all, or those of the (source, source_id) ``keys``)."""
    return [clean_from_dict(d) for d in catalog.clean.load(keys)]


def load_decisions(catalog: Catalog) -> Decisions:
    """Every reviewer's decision, for the linker."""
    decisions = Decisions()
    for d in catalog.matching.decisions():
        (decisions.merge if d.decision == "merge" else decisions.split).add(
            frozenset((d.a, d.b)))
    return decisions


def load_token_stats(catalog: Catalog, key: str) -> TokenStats:
    """The word frequencies of the last build (``name_stats`` or ``title_stats``)."""
    stored = catalog.matching.state(key)
    return TokenStats.from_dict(json.loads(stored)) if stored else TokenStats()


def brand_keys(catalog: Catalog) -> list[str]:
    """The brand keys of the last full build's products, as many times as they were seen
    (what ``BrandIndex`` and ``brand_stats`` are built from)."""
    stored = catalog.matching.state("brand_keys")
    counts: dict[str, int] = json.loads(stored) if stored else {}
    return [key for key, count in counts.items() for _ in range(count)]


def save_model(catalog: Catalog, build_id: int, model: MatchModel) -> None:
    """Keep the model a full build estimated, with that build."""
    catalog.matching.save_model(build_id, model.origin,
                                json.dumps(model.to_dict(), sort_keys=True))


def load_model(catalog: Catalog, build_id: int | None = None,
               ) -> tuple[StoredModel, MatchModel] | None:
    """The model build ``build_id`` used (the latest when None), or None before any."""
    stored = catalog.matching.model(build_id)
    if stored is None:
        return None
    return stored, MatchModel.from_dict(json.loads(stored.model))


# --------------------------------------------------------------------------- records
def entity_records(result: LinkResult, cleans: Mapping[str, Any], settings: MatchSettings,
                   *, stored_shops: Mapping[str, Mapping[str, Any]] | None = None,
                   ) -> dict[str, dict[str, Any]]:
    """Merged records of every entity of ``result`` (shops, offers, products).

    ``stored_shops``: the stored records of shops whose listings are the same, unchanged
    (an incremental build): merged from the same listings under the same settings, they
    are reused as they are, but for the offers they list.
    """
    records: dict[str, dict[str, Any]] = {}
    kept = stored_shops or {}
    for entity_id, members in result.clusters["shop"].items():
        if entity_id in kept:
            records[entity_id] = {k: v for k, v in kept[entity_id].items() if k != "offer_ids"}
            continue
        records[entity_id] = merge_shop(entity_id, [cleans[k] for k in members], settings)
    products: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entity_id, members in result.clusters["offer"].items():
        shop_id = result.offer_shop.get(entity_id)
        offer = merge_offer(entity_id, shop_id, [cleans[k] for k in members], settings)
        shop = records.get(shop_id or "")
        if shop is not None:
            offer["shop_name"] = shop.get("name")
            offer["city"] = shop.get("city")
            offer["postcode"] = shop.get("postcode")
            offer["lat"], offer["lon"] = shop.get("lat"), shop.get("lon")
            offer["shop_services"] = shop.get("services", [])
            shop.setdefault("offer_ids", []).append(entity_id)
        key = product_key_of(offer)
        if key:
            offer["product_entity_id"] = product_entity_id(key)
            products[offer["product_entity_id"]].append(offer)
        records[entity_id] = offer
    for product_id, offers in products.items():
        records[product_id] = product_record(product_id, offers, settings)
    for entity_id, members in result.clusters["product"].items():
        loose = merge_offer(entity_id, None, [cleans[k] for k in members], settings)
        loose["kind"] = "product"
        loose["offer_ids"] = []
        records[entity_id] = loose
    return records


def product_record(product_id: str, offers: Sequence[Mapping[str, Any]],
                   settings: MatchSettings,
                   representative: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A product from its offers: price range, platforms and shops across all of them.

    ``offers`` need entity_id, platforms, price_min, price_max and shop_entity_id; the
    descriptive fields come from ``representative`` or else the offer listed most widely.
    """
    best = representative or min(offers, key=lambda o: (-len(o["platforms"]), o["entity_id"]))
    prices = [p for o in offers for p in (o.get("price_min"), o.get("price_max")) if p]
    platforms = sorted({p for o in offers for p in o["platforms"]}, key=settings.trust_rank)
    return {
        "entity_id": product_id, "kind": "product", "title": best.get("title"),
        "title_key": best.get("title_key"), "brand": best.get("brand"), "gtin": best.get("gtin"),
        "variant": best.get("variant"), "category": best.get("category"),
        "image_url": best.get("image_url"), "description": best.get("description"),
        "price_min": min(prices) if prices else None, "price_max": max(prices) if prices else None,
        "currency": best.get("currency"), "platforms": platforms,
        "offer_ids": sorted(o["entity_id"] for o in offers),
        "shop_ids": sorted({o["shop_entity_id"] for o in offers if o.get("shop_entity_id")}),
        "offers_count": len(offers),
    }


def updated_product_record(stored: Mapping[str, Any], gone: Sequence[ProductOffer],
                           added: Sequence[Mapping[str, Any]], settings: MatchSettings,
                           ) -> dict[str, Any] | None:
    """``product_record`` of a stored product whose ``gone`` offers (their stored rows) were
    replaced by ``added`` (offer records), without reading its other offers; None when
    that cannot be told from the stored record: a gone offer priced at an end of the
    product's range, or on a platform or of a shop that no added offer brings back (the
    other offers may not have it). Else the result is ``product_record`` of all its offers
    with the stored record as representative (same fields, same aggregates)."""
    low, high = stored.get("price_min"), stored.get("price_max")
    back_platforms = {p for o in added for p in o["platforms"]}
    back_shops = {o.get("shop_entity_id") for o in added}
    for o in gone:
        if any(p and (low is None or high is None or p <= low or p >= high)
               for p in (o.price_min, o.price_max)):
            return None
        if not set(o.platforms) <= back_platforms or (o.shop_id and o.shop_id not in back_shops):
            return None
    gone_ids = {o.offer_id for o in gone}
    ids = sorted({i for i in stored.get("offer_ids", []) if i not in gone_ids}
                 | {o["entity_id"] for o in added})
    prices = [p for p in (low, high) if p] + [
        p for o in added for p in (o.get("price_min"), o.get("price_max")) if p]
    out = dict(stored)
    out.update({
        "price_min": min(prices) if prices else None, "price_max": max(prices) if prices else None,
        "platforms": sorted(set(stored.get("platforms", [])) | back_platforms,
                            key=settings.trust_rank),
        "offer_ids": ids,
        "shop_ids": sorted(set(stored.get("shop_ids", []))
                           | {s for s in back_shops if s}),
        "offers_count": len(ids)})
    return out


def product_offers(records: Mapping[str, Mapping[str, Any]]) -> list[ProductOffer]:
    """The product side of the offers among ``records`` (those that have a product)."""
    return [ProductOffer(r["entity_id"], r["product_entity_id"], r.get("shop_entity_id"),
                         r.get("price_min"), r.get("price_max"), list(r["platforms"]))
            for r in records.values() if r["kind"] == "offer" and r.get("product_entity_id")]


def members(result: LinkResult, wanted: Iterable[str]) -> list[Member]:
    """The listings of the ``wanted`` entities of ``result``."""
    keep = set(wanted)
    out = []
    for kind in ("shop", "offer", "product"):
        for entity_id, keys in result.clusters[kind].items():
            if entity_id not in keep:
                continue
            for key in keys:
                source, _, source_id = key.partition(":")
                out.append(Member(source, source_id, kind, entity_id))
    return out


BLOCK_KEYS_VERSION = "2"  # what block_rows stores; a catalog keyed otherwise needs a full build


def offer_block(shop_key: str, key: str) -> str:
    """The stored block of an offer's product blocking ``key`` within its shop listing."""
    return f"offer:{shop_key}|{key}"


def offers_keyed(shop_key: str) -> str:
    """The stored block saying the offers of a shop listing carry their ``offer_block``s."""
    return f"offers-keyed:{shop_key}"


def block_rows(cleans: Iterable[Any], name_stats: TokenStats, title_stats: TokenStats,
               big_shops: Container[str] | None = None) -> list[tuple[str, str, str]]:
    """(block, source, source_id) of every clean listing, for incremental builds.

    A shop listing and a product naming no seller have their own blocking keys (a shop
    its geo cell too, and again as ``NEAR_ADDRESSLESS`` when it has no street number:
    nearness pairs an addressed shop with those only); an offer
    has its shop's key (every offer of a shop, ``shop:<shop listing>``) and its product
    keys within that shop listing (``offer_block``), which is how a full build pairs the
    offers of a big shop. ``big_shops`` (a full build): the shop listings of merged shops
    too big for every pair of their offers to be compared; only their offers get product
    keys, and they get ``offers_keyed`` (the others' offers are all read when one
    changes). Without it, every offer of ``cleans`` gets its keys (changed listings)."""
    rows: list[tuple[str, str, str]] = []
    for c in cleans:
        if c.kind == "shop":
            f = shop_features(c)
            keys = shop_keys(f, name_stats)
            if big_shops is not None and f.key in big_shops:
                keys.append(offers_keyed(f.key))
            if f.lat is not None and f.lon is not None:
                cell = geo_cell(f.lat, f.lon)
                keys.append(cell)
                if addressless(f):  # the only shops nearness pairs with an addressed one
                    keys.append(NEAR_ADDRESSLESS + cell)
        else:
            p = product_features(c)
            if not p.shop_key:
                keys = product_keys(p, title_stats)
            elif big_shops is None or p.shop_key in big_shops:
                # offers are only ever compared within their shop
                keys = ["shop:" + p.shop_key] + [offer_block(p.shop_key, k)
                                                 for k in product_keys(p, title_stats)]
            else:
                keys = ["shop:" + p.shop_key]
        rows.extend((k, c.source, c.source_id) for k in set(keys))
    return rows


# --------------------------------------------------------------------------- writing
def write_build(catalog: Catalog, result: LinkResult, records: Mapping[str, dict[str, Any]],
                build_id: int, *, relinked: Iterable[str] | None = None,
                removed_entities: Iterable[str] = ()) -> None:
    """Store entities, members and review pairs in one transaction.

    ``relinked`` None: ``records`` are every entity (a full build). Else they replace
    themselves and ``removed_entities``, and the review pairs of the ``relinked``
    listings are replaced by the result's.
    """
    pairs = [ReviewPair(kind, s.a, s.b, s.total) for kind, s in result.review]
    with catalog.transaction():
        catalog.entities.write_build(build_id, records, members(result, records),
                                     product_offers(records), replace_all=relinked is None,
                                     removed=removed_entities)
        catalog.matching.replace_review_pairs(pairs, build_id, relinked=relinked)


def big_shop_listings(result: LinkResult) -> set[str]:
    """The shop listings of the merged shops with more than ``SMALL_SHOP`` offer listings
    (a full build pairs their offers through blocking keys, not all with all)."""
    sizes: Counter[str] = Counter()
    for entity_id, members in result.clusters["offer"].items():
        shop = result.offer_shop.get(entity_id)
        if shop:
            sizes[shop] += len(members)
    return {key for shop, size in sizes.items() if size > SMALL_SHOP
            for key in result.clusters["shop"].get(shop, ())}


def save_state(catalog: Catalog, cleans: Sequence[Any], big_shops: Container[str] | None = None,
               ) -> tuple[TokenStats, TokenStats]:
    """Store word frequencies and every listing's blocking keys for incremental builds."""
    name_stats = TokenStats(c.name_tokens for c in cleans if c.kind == "shop")
    title_stats = TokenStats(c.title_tokens for c in cleans if c.kind == "product")
    rows = block_rows(cleans, name_stats, title_stats, big_shops)
    with catalog.transaction():
        catalog.matching.replace_block_keys(rows)
        catalog.matching.save_state({
            "name_stats": json.dumps(name_stats.to_dict()),
            "title_stats": json.dumps(title_stats.to_dict()),
            "block_keys": BLOCK_KEYS_VERSION,
            "brand_keys": json.dumps(Counter(c.brand_key for c in cleans
                                             if c.kind == "product" and c.brand_key))})
    return name_stats, title_stats


def full_dedup(catalog: Catalog, settings: MatchSettings, build_id: int, cleans: Sequence[Any],
               decisions: Decisions) -> dict[str, Any]:
    """Link everything again; keep ids of entities whose members barely changed."""
    result = link(cleans, settings, previous=catalog.entities.membership(), decisions=decisions)
    by_key = {listing_key(c.source, c.source_id): c for c in cleans}
    records = entity_records(result, by_key, settings)
    write_build(catalog, result, records, build_id)
    if result.model is not None:
        save_model(catalog, build_id, result.model)
    save_state(catalog, cleans, big_shop_listings(result))
    catalog.matching.save_state({"settings": settings_fingerprint(settings)})
    catalog.clean.mark_linked()
    catalog.entities.record_presence(build_id)
    stats = result.stats()
    stats["entities_written"] = len(records)
    stats["products"] = sum(1 for r in records.values() if r["kind"] == "product")
    stats["model"] = f"estimated by EM in this build ({build_id})"
    return stats
