"""Scoring a pair: its comparisons' levels, weighed by the model, with an explanation.

A scorer compares two listings field by field (``compare``: the level of each
comparison, and the rarest word they share where a term-frequency adjustment
applies) and adds up the model's weights (``score``): the prior log2 odds of
their platform pair, then each level's log2(m/u), then the term-frequency
adjustments. The total is the pair's match weight; the pair matches when it
reaches the kind's threshold (0: as likely the same as not). Levels listed as
hard in the settings (two SIRETs of one company, two GTINs, two sizes, shops
kilometres apart) mark the pair ``hard``: the clustering never puts the two
listings together, whatever other pairs say, unless the settings let that level
yield where other levels all agree (``hard_unless``: one company's two SIRETs with
the same phone and address). Shops add one rule: different
names never match on place and contact alone (a market hall, a hotel's
restaurants sharing its switchboard); agreeing identifiers overrule it: the same
SIRET, or the same company (SIREN, website or e-mail) at the same place (phone or
address), or, when one name is a registered one with its legal form ("SAS LES
SAVEURS GOURMAND"), the same phone and the same address.
Every part is kept when ``explain`` is asked, for ``agora explain``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dedup import comparisons as cmp
from dedup.estimate import LevelCoder, token_log2_frequency
from dedup.features import Key, ProductFeatures, ShopFeatures, TokenStats
from dedup.model import KindModel, pair_key
from dedup.settings import KindSettings, OfferSettings, ProductSettings, ShopSettings

Part = tuple[str, str, float]  # (comparison, level, weight)
Levels = tuple[str, ...]
TfWords = dict[str, str]  # comparison -> the rarest word both sides share


@dataclass(frozen=True)
class PairScore:
    a: Key
    b: Key
    total: float
    hard: bool
    parts: tuple[Part, ...] = ()


class _Scorer:
    """Shared by every kind: levels to weights, hard levels, explanation."""

    kind = ""

    def __init__(self, settings: KindSettings, stats: TokenStats | None,
                 model: KindModel | None, max_weight: float) -> None:
        self.s = settings
        self.stats = stats if stats is not None else TokenStats()
        self.model = model or KindModel.from_priors(self.kind, settings, max_weight)
        self.comparisons = settings.comparison_names
        self.hard_levels = {tuple(h.split(".", 1)) for h in settings.hard}
        # hard level -> groups of levels that must all agree (one level of each) for it
        # to yield
        self.hard_unless = {tuple(h.split(".", 1)): [{tuple(x.split(".", 1))
                                                      for x in group.split("|")}
                                                     for group in groups]
                            for h, groups in settings.hard_unless}
        self.tf_comparisons = {c for c, comp in settings.comparisons if comp.tf_cap}

    def compare(self, a: object, b: object) -> tuple[Levels, TfWords]:
        """The level of every comparison (settings order), and the shared rare words."""
        raise NotImplementedError

    def tf_log2(self, words: TfWords) -> dict[str, float]:
        """log2 frequency of each comparison's shared rare word."""
        n = self.stats.n
        return {c: token_log2_frequency(self.stats.df.get(w, 0), n) for c, w in words.items()}

    def tf_array(self, words: Sequence[str | None]) -> np.ndarray:
        """log2 frequency of each pair's shared rare word (NaN when none), as an array."""
        n, df = self.stats.n, self.stats.df
        cache: dict[str, float] = {}
        out = np.full(len(words), np.nan)
        for row, word in enumerate(words):
            if word is not None:
                value = cache.get(word)
                if value is None:
                    value = cache[word] = token_log2_frequency(df.get(word, 0), n)
                out[row] = value
        return out

    @staticmethod
    def rows_with_any(levels: np.ndarray, coder: LevelCoder,
                      items: set[tuple[str, ...]]) -> np.ndarray:
        """Which rows of a level matrix hold one of ``items`` (comparison, level)."""
        hit = np.zeros(levels.shape[0], dtype=bool)
        for comp, level in items:
            c = coder.comparisons.index(comp)
            hit |= levels[:, c] == coder.levels[c].index(level)
        return hit

    def hard_rows(self, levels: np.ndarray, coder: LevelCoder) -> np.ndarray:
        """Which rows of a level matrix hold a hard level that does not yield."""
        hard = np.zeros(levels.shape[0], dtype=bool)
        for item in self.hard_levels:
            rows = self.rows_with_any(levels, coder, {item})
            if item in self.hard_unless:
                yields = np.ones(levels.shape[0], dtype=bool)
                for group in self.hard_unless[item]:
                    yields &= self.rows_with_any(levels, coder, group)
                rows &= ~yields
            hard |= rows
        return hard

    def is_hard(self, found: set[tuple[str, str]], parts: list[Part] | None = None) -> bool:
        """Whether a pair's levels hold a hard level that does not yield."""
        hard = False
        for item in found & self.hard_levels:
            groups = self.hard_unless.get(item)
            if groups and all(found & group for group in groups):
                if parts is not None:
                    parts.append(("hard yields", ".".join(item) + " with " + ", ".join(
                        sorted(".".join(x) for group in groups for x in found & group)), 0.0))
                continue
            hard = True
        return hard

    def score_matrix(self, levels: np.ndarray, pair_index: np.ndarray, coder: LevelCoder,
                     tf: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(match weight, hard) of every row of a level matrix: what ``score_levels`` gives
        pair by pair, for all candidate pairs at once."""
        if not len(levels):
            return np.zeros(0), np.zeros(0, dtype=bool)
        tables = [self.model.table(key) for key in coder.pair_keys]
        total = np.array([prior for prior, _ in tables])[pair_index]
        for c, comp in enumerate(coder.comparisons):
            names = coder.levels[c]
            weights = np.array([[w.get((comp, lv), 0.0) for lv in names] + [0.0]
                                for _, w in tables])
            col = levels[:, c].astype(np.int64)
            col[col < 0] = len(names)
            total += weights[pair_index, col]
            if comp in tf and comp in self.model.tf_reference:
                refs = self.model.tf_reference[comp]
                ref = np.array([refs.get(lv, np.nan) for lv in names] + [np.nan])[col]
                cap = self.model.tf_cap.get(comp, 0.0)
                adj = np.clip(ref - tf[comp], -cap, cap)
                total += np.where(np.isnan(adj), 0.0, adj)
        total = self.adjust_matrix(levels, coder, total)
        return np.round(total, 3), self.hard_rows(levels, coder)

    def adjust_matrix(self, levels: np.ndarray, coder: LevelCoder,
                      total: np.ndarray) -> np.ndarray:
        """``adjust`` for every row at once (nothing by default)."""
        return total

    def score(self, a: ShopFeatures | ProductFeatures, b: ShopFeatures | ProductFeatures, *,
              explain: bool = False) -> PairScore:
        levels, words = self.compare(a, b)
        return self.score_levels(a.key, b.key, pair_key(a.source, b.source), levels, words,
                                 explain=explain)

    def score_levels(self, a: Key, b: Key, pair: str, levels: Sequence[str], words: TfWords,
                     *, explain: bool = False) -> PairScore:
        """The score of a pair whose levels are already known."""
        prior, weights = self.model.table(pair)
        total = prior
        parts: list[Part] = [("prior", f"platforms {pair}", prior)] if explain else []
        tf = self.tf_log2(words) if words else {}
        for comp, level in zip(self.comparisons, levels, strict=True):
            w = weights.get((comp, level), 0.0)
            total += w
            if explain:
                parts.append((comp, level, w))
            if comp in tf:
                adj = self.model.tf_adjustment(comp, level, tf[comp])
                if adj:
                    total += adj
                    if explain:
                        parts.append((f"{comp} tf", f"shared word {words[comp]!r}", adj))
        found = set(zip(self.comparisons, levels, strict=True))
        hard = self.is_hard(found, parts if explain else None)
        total = self.adjust(levels, total, parts if explain else None)
        return PairScore(a, b, round(total, 3), hard, tuple(parts))

    def adjust(self, levels: Sequence[str], total: float, parts: list[Part] | None) -> float:
        """Kind-specific rules on top of the weights (none by default)."""
        return total


class ShopScorer(_Scorer):
    """Scores pairs of shop listings."""

    kind = "shop"

    def __init__(self, settings: ShopSettings, stats: TokenStats,
                 model: KindModel | None = None, *, max_weight: float = 24.0) -> None:
        super().__init__(settings, stats, model, max_weight)
        self.shop_settings = settings
        names = list(self.comparisons)
        self._name_at = names.index("name")
        geo = settings.comparison("geo")
        self.geo_bands = cmp.band_limits(geo.level_names)[0]
        name = settings.comparison("name")
        self.name_thresholds = {k: name.threshold(k, v) for k, v in cmp.NAME_THRESHOLDS.items()}
        veto = settings.veto
        self.veto_any = {tuple(x.split(".", 1)) for x in veto.overruled_by_any}
        self.veto_company = {tuple(x.split(".", 1)) for x in veto.company}
        self.veto_place = {tuple(x.split(".", 1)) for x in veto.place}
        self.veto_legal = veto.legal_name_level
        self.veto_legal_needs = [{tuple(x.split(".", 1)) for x in group.split("|")}
                                 for group in veto.legal_name_needs]

    def compare(self, a: ShopFeatures, b: ShopFeatures) -> tuple[Levels, TfWords]:  # type: ignore[override]
        name, rare = cmp.name_level(a, b, self.stats, self.name_thresholds)
        address = cmp.address_level(a, b)
        found = {
            "name": name,
            "address": address,
            "city": cmp.city_level(a, b),
            "phone": cmp.equal_level(a.phone, b.phone),
            "siret": cmp.siret_level(a, b),
            "website": cmp.equal_level(a.website, b.website),
            "email": cmp.email_level(a, b),
            "geo": cmp.geo_level(a, b, self.geo_bands, address),
            "category": cmp.category_level(a, b),
        }
        words = {"name": rare} if rare and "name" in self.tf_comparisons else {}
        return tuple(found[c] for c in self.comparisons), words

    def identifiers_agree(self, levels: Sequence[str]) -> bool:
        """The same SIRET, or the same company (SIREN, website, e-mail) at the same place
        (phone, address): a phone and an address alone may be a hotel's switchboard, unless
        one name is a registered one (with its legal form), which needs not be the sign."""
        found = set(zip(self.comparisons, levels, strict=True))
        if levels[self._name_at] == self.veto_legal and all(
                found & group for group in self.veto_legal_needs):
            return True
        return bool(found & self.veto_any) or bool(
            found & self.veto_company and found & self.veto_place)

    def adjust_matrix(self, levels: np.ndarray, coder: LevelCoder,
                      total: np.ndarray) -> np.ndarray:
        veto = self.shop_settings.veto
        if not veto.enabled:
            return total

        name = coder.comparisons.index("name")
        vetoed = np.isin(levels[:, name], [coder.levels[name].index(lv)
                                           for lv in veto.name_levels])

        def any_of(items: set[tuple[str, ...]]) -> np.ndarray:
            return self.rows_with_any(levels, coder, items)

        agree = any_of(self.veto_any) | (any_of(self.veto_company) & any_of(self.veto_place))
        legal = levels[:, name] == coder.levels[name].index(self.veto_legal)
        for group in self.veto_legal_needs:
            legal &= any_of(group)
        agree |= legal
        cut = vetoed & (total >= self.s.threshold) & ~agree
        return np.where(cut, self.s.threshold - 0.5, total)

    def adjust(self, levels: Sequence[str], total: float, parts: list[Part] | None) -> float:
        veto = self.shop_settings.veto
        if (veto.enabled and levels[self._name_at] in veto.name_levels
                and total >= self.s.threshold and not self.identifiers_agree(levels)):
            cut = self.s.threshold - 0.5 - total
            if parts is not None:
                parts.append(("name_veto", "names differ, no identifier agrees", cut))
            return total + cut
        return total


class _ProductLikeScorer(_Scorer):
    """Shared by offers and products: title, brand, GTIN, attributes, price."""

    overlap = False
    default_thresholds = cmp.OFFER_TITLE_THRESHOLDS

    def __init__(self, settings: OfferSettings | ProductSettings, stats: TokenStats | None,
                 model: KindModel | None, max_weight: float,
                 brand_stats: TokenStats | None = None) -> None:
        super().__init__(settings, stats, model, max_weight)
        self.brand_stats = brand_stats if brand_stats is not None else TokenStats()
        within, beyond = cmp.band_limits(settings.comparison("price").level_names)
        self.price_within, self.price_beyond = within, beyond
        title = settings.comparison("title")
        self.title_thresholds = {k: title.threshold(k, v)
                                 for k, v in self.default_thresholds.items()}

        levels: dict[str, Callable[[ProductFeatures, ProductFeatures], str]] = {
            "identity": cmp.identity_level,
            "gtin": lambda a, b: cmp.equal_level(a.gtin, b.gtin),
            "code": cmp.code_level,
            "variant": cmp.variant_level,
            "brand": lambda a, b: cmp.brand_level(a, b, self.brand_stats),
            "price": lambda a, b: cmp.price_level(a, b, self.price_within, self.price_beyond),
        }
        # only the kind's own comparisons are computed; the title gives its word as well
        self._levels = [(c, levels.get(c)) for c in self.comparisons]

    def compare(self, a: ProductFeatures, b: ProductFeatures) -> tuple[Levels, TfWords]:  # type: ignore[override]
        out: list[str] = []
        rare: str | None = None
        for _name, level in self._levels:
            if level is None:  # the title
                found, rare = cmp.title_level(a, b, self.stats, self.title_thresholds,
                                              overlap=self.overlap)
                out.append(found)
            else:
                out.append(level(a, b))
        words = {"title": rare} if rare and "title" in self.tf_comparisons else {}
        return tuple(out), words


class OfferScorer(_ProductLikeScorer):
    """Scores pairs of product listings of one merged shop (offers)."""

    kind = "offer"

    def __init__(self, settings: OfferSettings, stats: TokenStats | None = None,
                 model: KindModel | None = None, *, max_weight: float = 24.0,
                 brand_stats: TokenStats | None = None) -> None:
        super().__init__(settings, stats, model, max_weight, brand_stats)


class ProductScorer(_ProductLikeScorer):
    """Scores pairs of product listings that name no shop (the same product anywhere)."""

    kind = "product"
    overlap = True
    default_thresholds = cmp.PRODUCT_TITLE_THRESHOLDS

    def __init__(self, settings: ProductSettings, stats: TokenStats,
                 model: KindModel | None = None, *, max_weight: float = 24.0,
                 brand_stats: TokenStats | None = None) -> None:
        super().__init__(settings, stats, model, max_weight, brand_stats)
