"""Linking: clean listings in, entities out (shops, offers, products), the Splink way.

``link`` runs the stages on a set of clean listings: features, blocking,
scoring, clustering, stable ids. Shops are linked first; a product listing that
names its shop becomes an offer, compared only with the products of the same
merged shop; a product listing naming no (known) shop is compared with every
other such product. ``link`` is pure: the catalog-backed build
(``agora.pipeline``) and ``agora link`` both call it.

Example:
    >>> from normalizer import normalize_listing
    >>> rows = [{"kind": "shop", "source": s, "source_id": "1", "name": "Fromagerie Xavier",
    ...          "phone": "05 61 22 33 44"} for s in ("a", "b")]
    >>> result = link([normalize_listing(r) for r in rows], load_settings())
    >>> len(result.clusters["shop"])
    1
"""

from __future__ import annotations

import time
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dedup.blocking import BlockingReport, block_offers, block_products, block_shops
from dedup.clustering import Decisions, cluster_pairs
from dedup.features import (
    ProductFeatures,
    ShopFeatures,
    TokenStats,
    listing_key,
    product_features,
    shop_features,
)
from dedup.ids import assign_ids
from dedup.scoring import OfferScorer, PairScore, ProductScorer, ShopScorer
from dedup.settings import MatchSettings, load_settings  # noqa: F401 - doctest uses it

KINDS = ("shop", "offer", "product")


@dataclass
class LinkResult:
    """Entities found: clusters of listing keys per kind, and how they were found."""

    clusters: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {k: {} for k in KINDS})
    membership: dict[str, str] = field(default_factory=dict)  # listing key -> entity id
    offer_shop: dict[str, str] = field(default_factory=dict)  # offer entity -> shop entity
    review: list[tuple[str, PairScore]] = field(default_factory=list)  # (kind, uncertain pair)
    blocking: dict[str, BlockingReport] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    pairs_scored: dict[str, int] = field(default_factory=dict)
    matched_pairs: dict[str, int] = field(default_factory=dict)

    def entity_of(self, source: str, source_id: str) -> str | None:
        return self.membership.get(listing_key(source, source_id))

    def stats(self) -> dict[str, Any]:
        return {
            "entities": {k: len(v) for k, v in self.clusters.items()},
            "listings": {k: sum(len(m) for m in v.values()) for k, v in self.clusters.items()},
            "candidate_pairs": {k: r.candidate_pairs for k, r in self.blocking.items()},
            "all_pairs": {k: r.all_pairs for k, r in self.blocking.items()},
            "reduction_ratio": {k: round(r.reduction_ratio, 6) for k, r in self.blocking.items()},
            "skipped_blocks": {k: len(r.skipped_blocks) for k, r in self.blocking.items()},
            "pairs_scored": dict(self.pairs_scored),
            "review_pairs": len(self.review),
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }


def _cluster_kind(kind: str, records: Sequence[ShopFeatures | ProductFeatures],
                  pairs: set[tuple[int, int]], scorer: Any, threshold: float,
                  merge_floor: float, band: tuple[float, float], decisions: Decisions,
                  result: LinkResult) -> list[list[int]]:
    scored: list[tuple[int, int, PairScore]] = []
    for i, j in sorted(pairs):
        s = scorer.score(records[i], records[j])
        scored.append((i, j, s))
        if band[0] <= s.total < band[1] and not s.hard:
            result.review.append((kind, s))
    result.pairs_scored[kind] = len(scored)
    result.matched_pairs[kind] = sum(1 for _, _, s in scored if s.total >= threshold)
    return cluster_pairs([r.key for r in records], [r.source for r in records], scored,
                         lambda i, j: scorer.score(records[i], records[j]),
                         threshold=threshold, merge_floor=merge_floor, decisions=decisions)


def link(cleans: Sequence[Any], settings: MatchSettings, *,
         previous: Mapping[str, str] | None = None, decisions: Decisions | None = None,
         reserved_ids: Container[str] | None = None, name_stats: TokenStats | None = None,
         title_stats: TokenStats | None = None) -> LinkResult:
    """Link clean listings (CleanShop / CleanProduct) into entities.

    Args:
        cleans: clean listings of any sources.
        settings: the matcher's settings.
        previous: listing key -> entity id of an earlier build (keeps ids stable).
        decisions: reviewers' merge/split decisions.
        reserved_ids: entity ids in use elsewhere (never handed out again).
        name_stats, title_stats: word frequencies of the whole corpus when ``cleans`` is
            only part of it (incremental builds); computed from ``cleans`` otherwise.
    Returns:
        the entities as clusters of listing keys, with the figures of the run.
    """
    previous = previous or {}
    decisions = decisions or Decisions()
    result = LinkResult()
    t0 = time.perf_counter()
    shops = [c for c in cleans if c.kind == "shop"]
    products = [c for c in cleans if c.kind == "product"]

    # ---------------------------------------------------------------- shops
    shop_recs = [shop_features(c) for c in shops]
    if name_stats is None:
        name_stats = TokenStats(r.name_tokens for r in shop_recs)
    s = settings.shops
    pairs, report = block_shops(shop_recs, name_stats, max_block=s.blocking.max_block,
                                geo_radius_m=s.blocking.geo_radius_m)
    result.blocking["shop"] = report
    result.timings["shops_blocking"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    shop_clusters = _cluster_kind("shop", shop_recs, pairs, ShopScorer(s, name_stats),
                                  s.threshold, s.merge_floor, s.review_band, decisions, result)
    member_keys = [[shop_recs[i].key for i in c] for c in shop_clusters]
    ids = assign_ids(member_keys, previous, "shop", reserved=reserved_ids)
    for entity_id, members in zip(ids, member_keys, strict=True):
        result.clusters["shop"][entity_id] = members
        for key in members:
            result.membership[key] = entity_id
    result.timings["shops_linking"] = time.perf_counter() - t1

    # ---------------------------------------------------------------- offers
    t2 = time.perf_counter()
    product_recs = [product_features(c) for c in products]
    if title_stats is None:
        title_stats = TokenStats(r.title_tokens for r in product_recs)
    offers = [r for r in product_recs if r.shop_key and r.shop_key in result.membership]
    loose = [r for r in product_recs if not (r.shop_key and r.shop_key in result.membership)]
    shop_of = {r.shop_key: result.membership[r.shop_key] for r in offers if r.shop_key}
    o = settings.offers
    pairs, report = block_offers(offers, shop_of, title_stats)
    result.blocking["offer"] = report
    offer_clusters = _cluster_kind("offer", offers, pairs, OfferScorer(o), o.threshold,
                                   o.merge_floor, o.review_band, decisions, result)
    # an offer cluster never spans two merged shops (blocking guarantees it; check anyway)
    member_keys = []
    for c in offer_clusters:
        by_shop: dict[str, list[str]] = {}
        for i in c:
            by_shop.setdefault(shop_of[offers[i].shop_key or ""], []).append(offers[i].key)
        member_keys.extend(by_shop.values())
    ids = assign_ids(member_keys, previous, "offer", reserved=reserved_ids)
    offer_index = {r.key: r for r in offers}
    for entity_id, members in zip(ids, member_keys, strict=True):
        result.clusters["offer"][entity_id] = members
        result.offer_shop[entity_id] = shop_of[offer_index[members[0]].shop_key or ""]
        for key in members:
            result.membership[key] = entity_id
    result.timings["offers_linking"] = time.perf_counter() - t2

    # ---------------------------------------------------------------- products without shop
    t3 = time.perf_counter()
    p = settings.products
    pairs, report = block_products(loose, title_stats, max_block=p.blocking.max_block)
    result.blocking["product"] = report
    product_clusters = _cluster_kind("product", loose, pairs, ProductScorer(p, title_stats),
                                     p.threshold, p.merge_floor, p.review_band, decisions,
                                     result)
    member_keys = [[loose[i].key for i in c] for c in product_clusters]
    ids = assign_ids(member_keys, previous, "product", reserved=reserved_ids)
    for entity_id, members in zip(ids, member_keys, strict=True):
        result.clusters["product"][entity_id] = members
        for key in members:
            result.membership[key] = entity_id
    result.timings["products_linking"] = time.perf_counter() - t3
    result.timings["total"] = time.perf_counter() - t0
    result.review.sort(key=lambda ks: (ks[0], -ks[1].total, ks[1].a, ks[1].b))
    return result
