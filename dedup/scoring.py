"""Scoring a pair: the sum of its comparisons' weights, with an explanation.

A pair's total is a log2 Bayes factor; the pair matches when the total reaches
the kind's threshold. Some levels are hard evidence (two SIRETs, two GTINs, two
sizes of one product, two shops kilometres apart): the pair is then marked
``hard`` and the clustering never puts the two listings together, whatever
other pairs say.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from dedup import comparisons as cmp
from dedup.features import Key, ProductFeatures, ShopFeatures, TokenStats
from dedup.settings import OfferSettings, ProductSettings, ShopSettings

Part = tuple[str, str, float]  # (comparison, level, weight)


@dataclass(frozen=True)
class PairScore:
    a: Key
    b: Key
    total: float
    hard: bool
    parts: tuple[Part, ...] = ()


def _email_level(a: ShopFeatures, b: ShopFeatures, same: float) -> tuple[str, float]:
    """Levels: same | same_as_website (the address repeats the website: counted once) |
    missing. Different e-mails say little (contact@ and a manager's)."""
    if not a.email or a.email != b.email:
        return cmp.MISSING
    domain = a.email.rpartition("@")[2]
    if a.website and a.website == b.website and a.website.endswith(domain):
        return "same_as_website", 0.0
    return "same", same


class ShopScorer:
    """Scores pairs of shop listings."""

    def __init__(self, settings: ShopSettings, stats: TokenStats) -> None:
        self.s = settings
        self.stats = stats

    def parts(self, a: ShopFeatures, b: ShopFeatures) -> list[Part]:
        s = self.s
        out: list[Part] = []
        for name, (level, weight) in (
            ("name", cmp.name_level(a, b, s.name, self.stats)),
            ("address", cmp.address_level(a, b, s.address)),
            ("city", cmp.city_level(a, b, s.city)),
            ("phone", cmp.equal_level(a.phone, b.phone, s.phone)),
            ("siret", cmp.siret_level(a, b, s.siret)),
            ("website", cmp.equal_level(a.website, b.website, s.website)),
            ("email", _email_level(a, b, s.email.same)),
            ("geo", cmp.geo_level(a, b, s.geo)),
            ("category", cmp.category_level(a, b, s.category)),
        ):
            out.append((name, level, weight))
        if a.source == b.source:
            out.append(("source", "same_source", s.same_source))
        return out

    def score(self, a: ShopFeatures, b: ShopFeatures, *, explain: bool = False) -> PairScore:
        parts = self.parts(a, b)
        total = sum(p[2] for p in parts)
        levels = {p[0]: p[1] for p in parts}
        hard = (levels["siret"] in ("same_siren_other_siret", "other_siren")
                or levels["geo"] == "beyond")
        if (self.s.name.veto and levels["name"] == "different" and levels["siret"] != "same"
                and total >= self.s.threshold):
            cut = self.s.threshold - 0.5 - total
            parts.append(("name_veto", "names_differ", cut))
            total += cut
        return PairScore(a.key, b.key, round(total, 3), hard, tuple(parts) if explain else ())


class _ProductLikeScorer(ABC):
    """Shared by offers and products: two GTINs or two variants are hard evidence."""

    @abstractmethod
    def parts(self, a: ProductFeatures, b: ProductFeatures) -> list[Part]:
        """Each comparison's (name, level, weight)."""

    def score(self, a: ProductFeatures, b: ProductFeatures, *,
              explain: bool = False) -> PairScore:
        parts = self.parts(a, b)
        total = sum(p[2] for p in parts)
        levels = {p[0]: p[1] for p in parts}
        hard = levels["gtin"] == "different" or levels["variant"] == "different"
        return PairScore(a.key, b.key, round(total, 3), hard, tuple(parts) if explain else ())


class OfferScorer(_ProductLikeScorer):
    """Scores pairs of product listings of one merged shop (offers)."""

    def __init__(self, settings: OfferSettings, stats: TokenStats | None = None) -> None:
        self.s = settings
        self.stats = stats

    def parts(self, a: ProductFeatures, b: ProductFeatures) -> list[Part]:
        s = self.s
        out: list[Part] = [
            ("gtin", *cmp.equal_level(a.gtin, b.gtin, s.gtin)),
            ("variant", *cmp.variant_level(a, b, s.variant)),
            ("title", *cmp.title_level(a, b, s.title)),
            ("brand", *cmp.equal_level(a.brand_key, b.brand_key, s.brand)),
            ("price", *cmp.offer_price_level(a, b, s.price)),
        ]
        if a.source == b.source:
            out.append(("source", "same_source", s.same_source))
        return out



class ProductScorer(_ProductLikeScorer):
    """Scores pairs of product listings that name no shop (the same product anywhere)."""

    def __init__(self, settings: ProductSettings, stats: TokenStats) -> None:
        self.s = settings
        self.stats = stats

    def parts(self, a: ProductFeatures, b: ProductFeatures) -> list[Part]:
        s = self.s
        out: list[Part] = [
            ("gtin", *cmp.equal_level(a.gtin, b.gtin, s.gtin)),
            ("code", *cmp.code_level(a, b, s.code)),
            ("variant", *cmp.variant_level(a, b, s.variant)),
            ("title", *cmp.title_level(a, b, s.title, stats=self.stats, high=0.85, good=0.65,
                                       fair=0.45)),
            ("brand", *cmp.equal_level(a.brand_key, b.brand_key, s.brand)),
            ("price", *cmp.product_price_level(a, b, s.price)),
        ]
        if a.source == b.source:
            out.append(("source", "same_source", s.same_source))
        return out

