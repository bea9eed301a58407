"""Storing what the linker found: entities, members, review pairs, and state for next time.

The linker is pure; this module is its adapter to the catalog. ``full_dedup``
replaces every entity in one transaction (readers never see half a build);
``entity_records`` builds the merged records (survivorship) for a set of
clusters, and is shared with the incremental build.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from catalog.store import Catalog, utcnow
from dedup.clustering import Decisions
from dedup.features import TokenStats, listing_key, product_features, shop_features
from dedup.linker import LinkResult, link
from dedup.settings import MatchSettings
from dedup.survivorship import merge_offer, merge_shop, product_key_of


def product_entity_id(product_key: str) -> str:
    return "product-" + hashlib.blake2b(product_key.encode(), digest_size=6).hexdigest()


def entity_records(result: LinkResult, cleans: Mapping[str, Any],
                   settings: MatchSettings) -> dict[str, dict[str, Any]]:
    """Merged records of every entity of ``result`` (shops, offers, products)."""
    records: dict[str, dict[str, Any]] = {}
    for entity_id, members in result.clusters["shop"].items():
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
        records[product_id] = _product_record(product_id, offers, settings)
    for entity_id, members in result.clusters["product"].items():
        loose = merge_offer(entity_id, None, [cleans[k] for k in members], settings)
        loose["kind"] = "product"
        loose["offer_ids"] = []
        records[entity_id] = loose
    return records


def _product_record(product_id: str, offers: Sequence[dict[str, Any]],
                    settings: MatchSettings, representative: dict[str, Any] | None = None,
                    ) -> dict[str, Any]:
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


def product_offer_rows(records: Mapping[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows of product_offers for the offers among ``records``."""
    return [(r["entity_id"], r["product_entity_id"], r.get("shop_entity_id"), r.get("price_min"),
             r.get("price_max"), ",".join(r["platforms"]))
            for r in records.values() if r["kind"] == "offer" and r.get("product_entity_id")]


def block_rows(cleans: Iterable[Any], name_stats: TokenStats,
               title_stats: TokenStats) -> list[tuple[str, str, str]]:
    """(block, source, source_id) of every clean listing, for incremental builds."""
    from dedup.blocking import geo_cell, product_keys, shop_keys  # noqa: PLC0415

    rows = []
    for c in cleans:
        if c.kind == "shop":
            f = shop_features(c)
            keys = shop_keys(f, name_stats)
            if f.lat is not None and f.lon is not None:
                keys.append(geo_cell(f.lat, f.lon))
        else:
            f = product_features(c)
            # offers are only ever compared within their shop: its key is enough
            keys = ["shop:" + f.shop_key] if f.shop_key else product_keys(f, title_stats)
        rows.extend((k, c.source, c.source_id) for k in set(keys))
    return rows


def write_build(catalog: Catalog, result: LinkResult, records: Mapping[str, dict[str, Any]],
                build_id: int, *, replace_all: bool, removed_entities: Iterable[str] = (),
                ) -> None:
    """Store entities and members (all of them, or only those given) in one transaction."""
    now = utcnow()
    conn = catalog.conn
    with catalog.transaction():
        if replace_all:
            conn.execute("DELETE FROM entities")
            conn.execute("DELETE FROM entity_members")
            conn.execute("DELETE FROM product_offers")
        else:
            gone = sorted(set(removed_entities) | records.keys())
            for start in range(0, len(gone), 500):
                chunk = gone[start:start + 500]
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM entities WHERE entity_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM entity_members WHERE entity_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM product_offers WHERE offer_id IN ({marks})", chunk)
        conn.executemany(
            "INSERT OR REPLACE INTO entities(entity_id, kind, data, build_id, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(eid, rec["kind"], json.dumps(rec, ensure_ascii=False), build_id, now)
             for eid, rec in records.items()])
        conn.executemany("INSERT OR REPLACE INTO product_offers(offer_id, product_id, shop_id, "
                         "price_min, price_max, platforms) VALUES (?, ?, ?, ?, ?, ?)",
                         product_offer_rows(records))
        member_rows = []
        for kind in ("shop", "offer", "product"):
            for entity_id, members in result.clusters[kind].items():
                if entity_id not in records:
                    continue
                for key in members:
                    source, _, source_id = key.partition(":")
                    member_rows.append((source, source_id, kind, entity_id))
        conn.executemany("INSERT OR REPLACE INTO entity_members(source, source_id, kind, "
                         "entity_id) VALUES (?, ?, ?, ?)", member_rows)
        conn.execute("DELETE FROM review_pairs" if replace_all else "SELECT 1")
        conn.executemany(
            "INSERT OR REPLACE INTO review_pairs(kind, a, b, score, build_id) "
            "VALUES (?, ?, ?, ?, ?)",
            [(kind, s.a, s.b, s.total, build_id) for kind, s in result.review])


def record_presence(catalog: Catalog, build_id: int) -> None:
    """Snapshot which platforms list each shop at this build (overlap over time)."""
    with catalog.transaction():
        catalog.conn.execute(
            "INSERT INTO build_presence(build_id, kind, platform, entity_id) "
            "SELECT DISTINCT ?, kind, source, entity_id FROM entity_members "
            "WHERE kind = 'shop'", (build_id,))


def save_state(catalog: Catalog, cleans: Sequence[Any]) -> tuple[TokenStats, TokenStats]:
    """Store word frequencies and every listing's blocking keys for incremental builds."""
    name_stats = TokenStats(c.name_tokens for c in cleans if c.kind == "shop")
    title_stats = TokenStats(c.title_tokens for c in cleans if c.kind == "product")
    rows = block_rows(cleans, name_stats, title_stats)
    with catalog.transaction():
        catalog.conn.execute("DELETE FROM block_keys")
        catalog.conn.executemany("INSERT INTO block_keys(block, source, source_id) "
                                 "VALUES (?, ?, ?)", rows)
        for key, stats in (("name_stats", name_stats), ("title_stats", title_stats)):
            catalog.conn.execute("INSERT OR REPLACE INTO match_state(key, value) VALUES (?, ?)",
                                 (key, json.dumps(stats.to_dict())))
    return name_stats, title_stats


def full_dedup(catalog: Catalog, settings: MatchSettings, build_id: int, cleans: Sequence[Any],
               decisions: Decisions) -> dict[str, Any]:
    """Link everything again; keep ids of entities whose members barely changed."""
    previous = {f"{s}:{i}": e for s, i, e in catalog.conn.execute(
        "SELECT source, source_id, entity_id FROM entity_members")}
    result = link(cleans, settings, previous=previous, decisions=decisions)
    by_key = {listing_key(c.source, c.source_id): c for c in cleans}
    records = entity_records(result, by_key, settings)
    write_build(catalog, result, records, build_id, replace_all=True)
    save_state(catalog, cleans)
    from dedup.incremental import mark_linked, settings_fingerprint  # noqa: PLC0415

    with catalog.transaction():
        catalog.conn.execute("INSERT OR REPLACE INTO match_state(key, value) "
                             "VALUES ('settings', ?)", (settings_fingerprint(settings),))
    mark_linked(catalog)
    record_presence(catalog, build_id)
    stats = result.stats()
    stats["entities_written"] = len(records)
    stats["products"] = sum(1 for r in records.values() if r["kind"] == "product")
    return stats
