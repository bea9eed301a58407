"""Linking: clean listings in, entities out (shops, offers, products), the Splink way.

``link`` runs the stages on a set of clean listings: features, blocking,
comparisons, the model's estimate, scoring, clustering, stable ids. Shops are
linked first; a product listing that names its shop becomes an offer, compared
only with the products of the same merged shop; a product naming no seller is
given to a merged shop only when that shop alone sells the same GTIN (or the
same title at about the price), and otherwise, like a product naming an unknown
shop, compared with every other such product (a product-level listing). Unless a model is given
(an earlier full build's), each kind's weights are learned from these listings
(``dedup.estimate``) and returned in ``LinkResult.model``. ``link`` is pure: the
catalog-backed build (``agora.pipeline``) and ``agora link`` both call it.

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
from collections import Counter, defaultdict
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dedup.blocking import BlockingReport, block_offers, block_products, block_shops
from dedup.clustering import Decisions, cluster_pairs
from dedup.comparisons import variant_level
from dedup.estimate import LevelCoder, LevelData, estimate_kind, sample_group_pairs, sample_pairs
from dedup.features import (
    BrandIndex,
    ProductFeatures,
    ShopFeatures,
    TokenStats,
    brand_stats,
    listing_key,
    mark_house_items,
    product_features,
    shop_features,
)
from dedup.ids import assign_ids
from dedup.model import KindModel, MatchModel, pair_key
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
    models: dict[str, KindModel] = field(default_factory=dict)
    model: MatchModel | None = None  # the weights used (learned here unless given)
    # offers naming no seller given to the one merged shop selling the same item:
    # listing key -> (shop entity id, why)
    attached: dict[str, tuple[str, str]] = field(default_factory=dict)

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


def _population(groups: Sequence[Sequence[int]], sources: Sequence[str]) -> Counter[str]:
    """How many pairs of each platform pair the groups hold (pairs never cross groups)."""
    out: Counter[str] = Counter()
    for group in groups:
        per_source = Counter(sources[i] for i in group)
        names = sorted(per_source)
        for x, a in enumerate(names):
            na = per_source[a]
            out[pair_key(a, a)] += na * (na - 1) // 2
            for b in names[x + 1:]:
                out[pair_key(a, b)] += na * per_source[b]
    return out


@dataclass
class _Compared:
    """A kind's candidate pairs compared: their level matrix, platform pairs, shared words."""

    pairs: list[tuple[int, int]]
    coder: LevelCoder
    levels: np.ndarray
    pair_index: np.ndarray
    tf: dict[str, np.ndarray]


def _compare(kind: str, settings: MatchSettings, scorer: Any,
             records: Sequence[ShopFeatures | ProductFeatures], pairs: set[tuple[int, int]],
             groups: Sequence[Sequence[int]]) -> _Compared:
    coder = LevelCoder(settings.kind(kind))
    for key in sorted(_population(groups, [r.source for r in records])):
        coder.pair_index(key)
    ordered = sorted(pairs)
    rows: list[tuple[str, ...]] = []
    words: dict[str, list[str | None]] = {c: [] for c in scorer.tf_comparisons}
    pair_index = np.empty(len(ordered), dtype=np.int32)
    for n, (i, j) in enumerate(ordered):
        a, b = records[i], records[j]
        levels, shared = scorer.compare(a, b)
        rows.append(levels)
        for comp, found in words.items():
            found.append(shared.get(comp))
        pair_index[n] = coder.pair_index(pair_key(a.source, b.source))
    tf = {comp: scorer.tf_array(found) for comp, found in words.items()}
    return _Compared(ordered, coder, coder.matrix(rows), pair_index, tf)


def _estimate(kind: str, settings: MatchSettings, scorer: Any,
              records: Sequence[ShopFeatures | ProductFeatures], compared: _Compared,
              hard: np.ndarray, groups: Sequence[Sequence[int]], seed: int) -> KindModel:
    """The kind's model learned from its candidate pairs and a sample of the others."""
    coder = compared.coder
    population = _population(groups, [r.source for r in records])
    exclude = set(compared.pairs)
    count = min(settings.em.random_pairs, settings.em.random_pairs_per_listing * len(records))
    if len(groups) == 1:
        picked = sample_pairs(len(groups[0]), count, seed, exclude)
        picked = [(groups[0][i], groups[0][j]) for i, j in picked] if groups[0] else []
    else:
        picked = sample_group_pairs(groups, count, seed, exclude)
    sample = coder.matrix([scorer.compare(records[i], records[j])[0] for i, j in picked])
    sample_pair = np.array([coder.pair_index(pair_key(records[i].source, records[j].source))
                            for i, j in picked], dtype=np.int32)
    all_pairs = np.array([population.get(k, 0) for k in coder.pair_keys], dtype=float)
    data = LevelData(coder.comparisons, coder.levels, coder.pair_keys, compared.levels,
                     compared.pair_index, sample, sample_pair, all_pairs, compared.tf, hard)
    return estimate_kind(kind, settings.kind(kind), settings.em, data)


def _link_kind(kind: str, records: Sequence[ShopFeatures | ProductFeatures],
               pairs: set[tuple[int, int]], scorer: Any, settings: MatchSettings,
               groups: Sequence[Sequence[int]], decisions: Decisions, result: LinkResult,
               estimate: bool, seed: int) -> list[list[int]]:
    """Compare the candidate pairs, learn the kind's model if asked, score and cluster."""
    t0 = time.perf_counter()
    compared = _compare(kind, settings, scorer, records, pairs, groups)
    t1 = time.perf_counter()
    coder = compared.coder
    if estimate:
        hard = scorer.hard_rows(compared.levels, coder)
        scorer.model = _estimate(kind, settings, scorer, records, compared, hard, groups, seed)
    result.models[kind] = scorer.model
    t2 = time.perf_counter()
    totals, hard = scorer.score_matrix(compared.levels, compared.pair_index, coder, compared.tf)
    kind_settings = settings.kind(kind)
    band, threshold = kind_settings.review_band, kind_settings.threshold
    scored: list[tuple[int, int, PairScore]] = []
    # only pairs that can merge or need a reviewer become PairScores; clustering scores
    # any other pair it needs on demand
    for n in np.flatnonzero(totals >= min(threshold, band[0])):
        i, j = compared.pairs[n]
        s = PairScore(records[i].key, records[j].key, float(totals[n]), bool(hard[n]))
        scored.append((i, j, s))
        if band[0] <= s.total < band[1] and not s.hard:
            result.review.append((kind, s))
    result.pairs_scored[kind] = len(compared.pairs)
    result.matched_pairs[kind] = int((totals >= threshold).sum())
    clusters = cluster_pairs([r.key for r in records], [r.source for r in records], scored,
                             lambda i, j: scorer.score(records[i], records[j]),
                             threshold=threshold, merge_floor=kind_settings.merge_floor,
                             decisions=decisions)
    result.timings[f"{kind}s_compare"] = t1 - t0
    result.timings[f"{kind}s_estimate"] = t2 - t1
    result.timings[f"{kind}s_cluster"] = time.perf_counter() - t2
    return clusters


class _Reserved:
    """The ids in use elsewhere and those of the fixed shops."""

    def __init__(self, reserved: Container[str] | None, fixed: Container[str]) -> None:
        self.reserved, self.fixed = reserved, fixed

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self.fixed or (self.reserved is not None
                                           and entity_id in self.reserved)


SELLER_WORD_BLOCK = 2000  # a title word on more offers than this is too common to look up


def _possible_sellers(r: ProductFeatures, offers: Sequence[ProductFeatures],
                      words: Mapping[str, list[int]], stats: TokenStats,
                      shop_of: Mapping[str, str], known: set[str]) -> set[str] | None:
    """``known`` and the merged shops whose named offers could be the item of ``r``: an
    offer sharing at least half of its title words, found through its three rarest words
    (so that a typo or a marketing word on one side does not hide a seller), unless its
    GTIN or its attributes (size, colour, count...) say it is another article. The search
    stops at two shops (enough to leave the item unattached). None when every rare word
    is too common to look up (the sellers cannot be counted)."""
    shops = set(known)
    tokens = set(r.title_tokens)
    if not tokens or len(shops) > 1:
        return shops
    need = max(1, (len(tokens) + 1) // 2)
    looked = False
    for word in stats.rarest(tokens, 3):
        block = words.get(word, ())
        if len(block) > SELLER_WORD_BLOCK:
            continue
        looked = True
        for i in block:
            o = offers[i]
            if shop_of[o.key] in shops or (r.gtin and o.gtin and r.gtin != o.gtin) \
                    or variant_level(r, o) == "different":
                continue  # another article: another GTIN, or a size or colour apart
            if len(tokens.intersection(o.title_tokens)) >= need:
                shops.add(shop_of[o.key])
                if len(shops) > 1:
                    return shops
    return shops if looked else None


def _attach_sellerless(sellerless: Sequence[ProductFeatures], offers: Sequence[ProductFeatures],
                       shop_of: Mapping[str, str], shop_platforms: Mapping[str, set[str]],
                       stats: TokenStats, tolerance: float) -> dict[str, tuple[str, str]]:
    """Offers naming no seller: listing key -> (merged shop, why).

    The contract (issue 11): an offer on platform P naming no seller is a merged shop's
    when the same GTIN, or else the same title at about the same price, is sold by
    exactly one merged shop; when several sell it, it stays a product-level listing.
    Nothing is attached when the data leaves the one seller in doubt:

    - the merged shops selling the same GTIN, or an offer sharing at least half of the
      title's words (typos, marketing words and a GTIN left out hide the same item),
      are not exactly that one shop;
    - that shop is not listed on P, or already sells the item on P under its own name
      (a platform shows only its own shops' offers, and a shop's item once);
    - P shows the item without a seller more than once: at most one of those listings
      can be the shop's, so the item has sellers that never name themselves.

    Without a GTIN, the shop's offer must have the same title (key) and a price within
    ``tolerance`` (platform fees and stale pages move a price by up to ~10 %).
    """
    by_gtin: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    by_title: dict[str, list[ProductFeatures]] = defaultdict(list)
    wanted = {w for r in sellerless for w in stats.rarest(r.title_tokens, 3)}
    words: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(offers):
        if r.gtin:
            by_gtin[r.gtin][shop_of[r.key]].add(r.source)
        if r.title_key:
            by_title[r.title_key].append(r)
        for word in wanted.intersection(r.title_tokens):
            words[word].append(i)
    unnamed: Counter[tuple[str, str]] = Counter(
        (r.source, r.gtin or f"title:{r.title_key}") for r in sellerless)
    out: dict[str, tuple[str, str]] = {}
    for r in sellerless:
        if not (r.gtin or (r.title_key and r.price_cents)):
            continue
        if unnamed[(r.source, r.gtin or f"title:{r.title_key}")] != 1:
            continue
        sellers = _possible_sellers(r, offers, words, stats, shop_of,
                                    set(by_gtin.get(r.gtin, {})) if r.gtin else set())
        if sellers is None or len(sellers) != 1:
            continue
        shop = next(iter(sellers))
        if r.gtin:
            if shop not in by_gtin.get(r.gtin, {}):
                continue
            what, sources = f"GTIN {r.gtin}", by_gtin[r.gtin][shop]
        else:
            sold = [o for o in by_title.get(r.title_key or "", ()) if shop_of[o.key] == shop]
            if not any(o.price_cents and r.price_cents and abs(o.price_cents - r.price_cents)
                       <= tolerance * max(o.price_cents, r.price_cents) for o in sold):
                continue
            what, sources = "this title at about this price", {o.source for o in sold}
        if r.source not in shop_platforms.get(shop, ()) or r.source in sources:
            continue
        out[r.key] = (shop, f"{what}: sold by this merged shop alone, listed on {r.source} "
                            "without a seller once")
    return out


def link(cleans: Sequence[Any], settings: MatchSettings, *,
         previous: Mapping[str, str] | None = None, decisions: Decisions | None = None,
         reserved_ids: Container[str] | None = None, name_stats: TokenStats | None = None,
         title_stats: TokenStats | None = None, model: MatchModel | None = None,
         brands: Sequence[str] | None = None, offer_shop_sizes: Mapping[str, int] | None = None,
         fixed_shops: Mapping[str, Sequence[str]] | None = None, seed: int = 0) -> LinkResult:
    """Link clean listings (CleanShop / CleanProduct) into entities.

    Args:
        cleans: clean listings of any sources.
        settings: the matcher's settings (structure and priors of the model).
        previous: listing key -> entity id of an earlier build (keeps ids stable).
        decisions: reviewers' merge/split decisions.
        reserved_ids: entity ids in use elsewhere (never handed out again).
        name_stats, title_stats: word frequencies of the whole corpus when ``cleans`` is
            only part of it (incremental builds); computed from ``cleans`` otherwise.
        model: the weights to use (an earlier full build's); learned from ``cleans``
            by EM when not given, and returned in ``result.model`` either way.
        brands: the brand keys of the whole corpus, once per listing giving one, when
            ``cleans`` is only part of it; those of ``cleans`` otherwise.
        offer_shop_sizes: merged shop id -> how many offers it has in the whole corpus,
            when ``cleans`` holds only some of them (blocking pairs all the offers of a
            small shop, and a shop is small by its whole count).
        fixed_shops: merged shop id -> its shop listing keys, kept as they are (an
            incremental build where only offers of that shop changed): their listings
            are neither read nor compared, their offers get that shop, and the id is
            never handed to another entity.
        seed: seeds the random pairs the estimate draws (same data, same model).
    Returns:
        the entities as clusters of listing keys, with the model and the figures of the run.
    """
    previous = previous or {}
    decisions = decisions or Decisions()
    result = LinkResult()
    fixed = fixed_shops or {}
    if fixed:
        reserved_ids = _Reserved(reserved_ids, fixed)
    estimate = model is None
    t0 = time.perf_counter()
    shops = [c for c in cleans if c.kind == "shop"]
    products = [c for c in cleans if c.kind == "product"]
    max_weight = settings.em.max_weight

    def kind_model(kind: str) -> KindModel | None:
        return model.kinds.get(kind) if model is not None else None

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
    shop_scorer = ShopScorer(s, name_stats, kind_model("shop"), max_weight=max_weight)
    shop_clusters = _link_kind("shop", shop_recs, pairs, shop_scorer, settings,
                               [list(range(len(shop_recs)))], decisions, result, estimate, seed)
    member_keys = [[shop_recs[i].key for i in c] for c in shop_clusters]
    ids = assign_ids(member_keys, previous, "shop", reserved=reserved_ids)
    for entity_id, members in zip(ids, member_keys, strict=True):
        result.clusters["shop"][entity_id] = members
        for key in members:
            result.membership[key] = entity_id
    for entity_id, keys in fixed.items():
        result.clusters["shop"][entity_id] = list(keys)
        for key in keys:
            result.membership[key] = entity_id
    result.timings["shops_linking"] = time.perf_counter() - t1

    # ---------------------------------------------------------------- offers
    t2 = time.perf_counter()
    seen = list(brands) if brands is not None else [c.brand_key for c in products]
    brand_index = BrandIndex(seen)
    brand_words = brand_stats(seen)
    product_recs = [product_features(c, brand_index) for c in products]
    if title_stats is None:
        title_stats = TokenStats(r.title_tokens for r in product_recs)
    offers = [r for r in product_recs if r.shop_key and r.shop_key in result.membership]
    shop_of = {r.key: result.membership[r.shop_key] for r in offers if r.shop_key}
    o = settings.offers
    sellerless = [r for r in product_recs if not r.shop_key]
    shop_platforms: dict[str, set[str]] = defaultdict(set)
    for shop in shop_recs:
        shop_platforms[result.membership[shop.key]].add(shop.source)
    for entity_id, keys in fixed.items():
        shop_platforms[entity_id].update(key.partition(":")[0] for key in keys)
    attached = (_attach_sellerless(sellerless, offers, shop_of, shop_platforms, title_stats,
                                   o.sellerless.price_tolerance)
                if o.sellerless.enabled else {})
    result.attached = attached
    for r in sellerless:
        if r.key in attached:
            shop_of[r.key] = attached[r.key][0]
            offers.append(r)
    loose = [r for r in product_recs if r.key not in shop_of]
    pairs, report = block_offers(offers, {r.key: shop_of[r.key] for r in offers}, title_stats,
                                 shop_sizes=offer_shop_sizes)
    result.blocking["offer"] = report
    by_shop: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(offers):
        by_shop[shop_of[r.key]].append(i)
    offer_scorer = OfferScorer(o, title_stats, kind_model("offer"), max_weight=max_weight,
                               brand_stats=brand_words)
    offer_clusters = _link_kind("offer", offers, pairs, offer_scorer, settings,
                                list(by_shop.values()), decisions, result, estimate, seed)
    # an offer cluster never spans two merged shops (blocking guarantees it; check anyway)
    member_keys = []
    for c in offer_clusters:
        split: dict[str, list[str]] = {}
        for i in c:
            split.setdefault(shop_of[offers[i].key], []).append(offers[i].key)
        member_keys.extend(split.values())
    ids = assign_ids(member_keys, previous, "offer", reserved=reserved_ids)
    for entity_id, members in zip(ids, member_keys, strict=True):
        result.clusters["offer"][entity_id] = members
        result.offer_shop[entity_id] = shop_of[members[0]]
        for key in members:
            result.membership[key] = entity_id
    result.timings["offers_linking"] = time.perf_counter() - t2

    # ---------------------------------------------------------------- products without shop
    t3 = time.perf_counter()
    p = settings.products
    mark_house_items(loose)
    pairs, report = block_products(loose, title_stats, max_block=p.blocking.max_block)
    result.blocking["product"] = report
    product_scorer = ProductScorer(p, title_stats, kind_model("product"), max_weight=max_weight,
                                   brand_stats=brand_words)
    product_clusters = _link_kind("product", loose, pairs, product_scorer, settings,
                                  [list(range(len(loose)))], decisions, result, estimate, seed)
    member_keys = [[loose[i].key for i in c] for c in product_clusters]
    ids = assign_ids(member_keys, previous, "product", reserved=reserved_ids)
    for entity_id, members in zip(ids, member_keys, strict=True):
        result.clusters["product"][entity_id] = members
        for key in members:
            result.membership[key] = entity_id
    result.timings["products_linking"] = time.perf_counter() - t3
    result.timings["total"] = time.perf_counter() - t0
    result.review.sort(key=lambda ks: (ks[0], -ks[1].total, ks[1].a, ks[1].b))
    if model is not None:
        result.model = model
    else:
        result.model = MatchModel(dict(result.models), "estimated", {
            "shop_listings": len(shop_recs), "product_listings": len(product_recs)})
    return result
