"""``agora link``, ``agora explain`` and ``agora review`` as library functions.

``link_file`` normalizes and clusters a JSON Lines file of listings in the
contract without touching the catalog; ``explain_pair`` scores two listings of
the catalog comparison by comparison with the model the last build stored; the review functions list uncertain pairs and
record reviewers' decisions, which every later build respects.

Coordinates are checked against the area of the territories the instance serves
(``link_area``, as ``agora build`` does): a point outside every territory's box is
dropped and counted (``LinkFileReport.outside``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from typing import Any

from agora import settings as agora_settings
from catalog.store import Catalog
from crawlers.errors import InvalidListing
from crawlers.listing import validate_listing
from dedup.errors import ReviewConflict, UnknownListing
from dedup.features import (
    BrandIndex,
    brand_stats,
    listing_key,
    product_features,
    shop_features,
)
from dedup.linker import LinkResult, link
from dedup.model import MatchModel, probability
from dedup.overlap_export import write_csv
from dedup.persist import brand_keys, load_model, load_token_stats
from dedup.scoring import OfferScorer, PairScore, ProductScorer, ShopScorer
from dedup.settings import MatchSettings
from normalizer import Territory, clean_from_dict, normalize_listing


@dataclass
class LinkFileReport:
    listings: int
    invalid: list[str]
    result: LinkResult
    seconds: float
    normalize_seconds: float
    outside: int = 0  # listings whose coordinates lay outside the area (dropped)


ANYWHERE = Territory(bbox=(-180.0, -90.0, 180.0, 90.0), name="anywhere")


def link_area(region: str = "FR", anywhere: bool = False) -> Territory:
    """Where linked listings' coordinates may lie: the served territories' area (their
    boxes; anywhere when one has none, or when ``anywhere``), phones read in ``region``.

    Raises:
        TerritoryConfigError, SettingError: the territories file or AGORA_TERRITORIES
            is wrong.
    """
    if anywhere:
        return replace(ANYWHERE, region=region)
    return agora_settings.territories().area(region=region)


def read_listings(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Valid listings of a JSON Lines file, and the reasons of the lines that are not."""
    listings, invalid = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                listings.append(validate_listing(json.loads(line)))
            except (ValueError, InvalidListing) as exc:
                invalid.append(f"line {lineno}: {exc}")
    return listings, invalid


def link_file(path: str | os.PathLike[str], out: str | os.PathLike[str],
              settings: MatchSettings, *, territory: Territory | None = None) -> LinkFileReport:
    """Normalize and cluster a file of listings; write kind,source,source_id,cluster_id."""
    t0 = time.perf_counter()
    listings, invalid = read_listings(path)
    cleans = [normalize_listing(item, territory=territory) for item in listings]
    outside = sum(any(f.code == "outside_territory" for f in c.flags) for c in cleans)
    t1 = time.perf_counter()
    result = link(cleans, settings)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        write_csv(fh, ["kind", "source", "source_id", "cluster_id"],
                  ([item["kind"], item["source"], item["source_id"],
                    result.membership[listing_key(item["source"], item["source_id"])]]
                   for item in listings))
    return LinkFileReport(len(listings), invalid, result, time.perf_counter() - t0, t1 - t0,
                          outside)


# --------------------------------------------------------------------------- explain
def parse_listing_ref(ref: str) -> tuple[str, str]:
    source, sep, source_id = ref.partition(":")
    if not sep or not source or not source_id:
        raise UnknownListing(f"{ref!r}: expected SOURCE:ID, e.g. clickandco:shp_1a2b")
    return source, source_id


def _clean(catalog: Catalog, ref: str) -> Any:
    source, source_id = parse_listing_ref(ref)
    stored = catalog.clean.get(source, source_id)
    if stored is None:
        raw = catalog.listing(source, source_id)
        if raw is None:
            raise UnknownListing(f"no listing {ref} in the catalog (crawl or import it first)")
        return normalize_listing(raw, territory=link_area())
    return clean_from_dict(stored)


PRIORS_ONLY = "priors from config/matching.yaml (no build has stored a model yet)"


@dataclass
class Explanation:
    kind: str
    a: Any
    b: Any
    score: PairScore
    threshold: float
    decision: str
    same_entity: bool | None
    review: str | None
    model: str = PRIORS_ONLY
    model_build: int | None = None

    def to_dict(self, ref_a: str, ref_b: str) -> dict[str, Any]:
        """The explanation as JSON-able data (``agora explain --json``)."""
        label = "name" if self.kind == "shop" else "title"
        return {
            "a": {"ref": ref_a, label: getattr(self.a, label, None)},
            "b": {"ref": ref_b, label: getattr(self.b, label, None)},
            "kind": self.kind, "model": self.model, "model_build": self.model_build,
            "waterfall": [{"part": name, "level": level, "weight": round(weight, 3)}
                          for name, level, weight in self.score.parts],
            "total": self.score.total, "threshold": self.threshold,
            "probability": round(probability(self.score.total), 6),
            "hard_evidence_against": self.score.hard, "decision": self.decision,
            "same_entity_in_last_build": self.same_entity, "reviewer_decision": self.review,
        }


def explain_pair(catalog: Catalog, ref_a: str, ref_b: str,
                 settings: MatchSettings) -> Explanation:
    """Each comparison's level and weight (the waterfall of the model the last build used),
    the total, the threshold and the decision for two listings."""
    a, b = _clean(catalog, ref_a), _clean(catalog, ref_b)
    if a.kind != b.kind:
        raise UnknownListing(f"{ref_a} is a {a.kind} and {ref_b} a {b.kind}: they never match")
    stored = load_model(catalog)
    model = stored[1] if stored else MatchModel.from_priors(settings)
    max_weight = settings.em.max_weight
    keys = [listing_key(a.source, a.source_id), listing_key(b.source, b.source_id)]
    rows = catalog.entities.entities_of(keys)
    fa: Any
    fb: Any
    if a.kind == "shop":
        scorer: Any = ShopScorer(settings.shops, load_token_stats(catalog, "name_stats"),
                                 model.kinds["shop"], max_weight=max_weight)
        fa, fb = shop_features(a), shop_features(b)
        kind = "shop"
    else:
        seen = brand_keys(catalog)
        brands = BrandIndex(seen)
        fa, fb = product_features(a, brands), product_features(b, brands)
        # offers when both are sold by a shop: named, or given one by the last build
        in_offers = [k in rows and rows[k].startswith("offer") for k in keys]
        both_sold = all(in_offers) if all(k in rows for k in keys) else bool(
            fa.shop_key and fb.shop_key)
        kind = "offer" if both_sold else "product"
        scorer_class: Any = OfferScorer if kind == "offer" else ProductScorer
        scorer = scorer_class(settings.kind(kind), load_token_stats(catalog, "title_stats"),
                              model.kinds[kind], max_weight=max_weight,
                              brand_stats=brand_stats(seen))
    threshold = settings.kind(kind).threshold
    score = scorer.score(fa, fb, explain=True)
    review = catalog.matching.decision(fa.key, fb.key)
    if review:
        decision = f"{review} (reviewer's decision)"
    elif score.hard:
        decision = "apart (hard evidence against)"
    elif score.total >= threshold:
        decision = "match"
    else:
        decision = "no match"
    same = (rows[fa.key] == rows[fb.key]) if fa.key in rows and fb.key in rows else None
    described = (f"{stored[0].origin} by full build {stored[0].build_id} "
                 f"({stored[0].created_at})" if stored else PRIORS_ONLY)
    return Explanation(kind, a, b, score, threshold, decision, same, review, described,
                       stored[0].build_id if stored else None)


# --------------------------------------------------------------------------- review
def review_pairs(catalog: Catalog, *, kind: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
    """Pairs of the last build in the uncertain band, without a decision yet."""
    out = []
    for k, a, b, score in catalog.matching.pending_review_pairs(kind=kind, limit=limit):
        labels = []
        for ref in (a, b):
            source, _, source_id = ref.partition(":")
            raw = catalog.listing(source, source_id) or {}
            labels.append(raw.get("name") or raw.get("title") or "")
        out.append({"kind": k, "a": a, "b": b, "score": score, "a_label": labels[0],
                    "b_label": labels[1]})
    return out


def record_decision(catalog: Catalog, ref_a: str, ref_b: str, decision: str,
                    note: str | None = None) -> None:
    """Record that two listings are (merge) or are not (split) the same thing."""
    if decision not in ("merge", "split"):
        raise ValueError("decision must be merge or split")
    for ref in (ref_a, ref_b):
        source, source_id = parse_listing_ref(ref)
        if catalog.listing(source, source_id) is None:
            raise UnknownListing(f"no listing {ref} in the catalog")
    if ref_a == ref_b:
        raise ReviewConflict("a listing is always the same as itself")
    catalog.matching.record_decision(ref_a, ref_b, decision, note)
