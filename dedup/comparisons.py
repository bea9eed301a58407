"""Pairwise comparisons, one per field, each with documented levels.

Every comparison returns ``(level, weight)``: the level names what was found
("exact", "other_number", "missing"...) and the weight is that level's log2
Bayes factor from the settings. A missing value on either side is level
"missing" with weight 0: absence is not evidence. Similarities come from
``rapidfuzz`` on the normalizer's matching forms.
"""

from __future__ import annotations

import math

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from dedup.features import ProductFeatures, ShopFeatures, TokenStats
from dedup.settings import (
    AddressWeights,
    CategoryWeights,
    CodeWeights,
    GeoWeights,
    NameWeights,
    OfferPriceWeights,
    ProductPriceWeights,
    SameDifferent,
    SiretWeights,
    TitleWeights,
)

Level = tuple[str, float]
MISSING: Level = ("missing", 0.0)


# --------------------------------------------------------------------------- text
def _token_match(a: str, b: str) -> float:
    """1 for equal words, 0.9 for one slip in a long word, else Jaro-Winkler if high."""
    if a == b:
        return 1.0
    if len(a) >= 5 and len(b) >= 5 and Levenshtein.distance(a, b, score_cutoff=1) <= 1:
        return 0.9
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 3 and long_.startswith(short) and short.isalpha():
        return 0.85  # an abbreviation: "deli" / "delicatessen", "boulang" / "boulangerie"
    jw = JaroWinkler.similarity(a, b)
    return jw if jw >= 0.93 and min(len(a), len(b)) >= 6 else 0.0


def weighted_overlap(a: tuple[str, ...], b: tuple[str, ...], stats: TokenStats) -> float:
    """Share of the shorter title's weight (idf) found in the other: verbose titles and
    terse ones of the same product meet ('sony dvp-ns700h dvd player' in a long one)."""
    if not a or not b:
        return 0.0
    short, long_ = (a, b) if len(set(a)) <= len(set(b)) else (b, a)
    long_set = set(long_)
    total = matched = 0.0
    for token in set(short):
        w = stats.idf(token)
        total += w
        if token in long_set:
            matched += w
        else:
            matched += w * max((_token_match(token, o) for o in long_), default=0.0)
    return matched / total if total else 0.0


def weighted_token_similarity(a: tuple[str, ...], b: tuple[str, ...],
                              stats: TokenStats) -> tuple[float, float]:
    """(similarity 0..1, idf of the rarest word both share exactly).

    Each word weighs its idf; a word of one side counts as matched by its best
    counterpart on the other side (exact, one slip, or Jaro-Winkler >= 0.93).
    """
    if not a or not b:
        return 0.0, 0.0
    total = matched = 0.0
    rare = 0.0
    set_a, set_b = set(a), set(b)
    for side, other, other_set in ((a, b, set_b), (b, a, set_a)):
        for token in side:
            w = stats.idf(token)
            total += w
            if token in other_set:
                matched += w
                rare = max(rare, w)
            else:
                matched += w * max((_token_match(token, o) for o in other), default=0.0)
    return (matched / total if total else 0.0), rare


def contained(short: tuple[str, ...], long_: tuple[str, ...]) -> bool:
    """Every word of ``short`` is in ``long_`` (a slip allowed in long words)."""
    if not short or len(short) > len(long_):
        return False
    return all(any(_token_match(t, o) >= 0.9 for o in long_) for t in short)


def name_level(a: ShopFeatures, b: ShopFeatures, w: NameWeights, stats: TokenStats) -> Level:
    """Levels: exact | high (>=0.95) | good (>=0.88) | contained (one name inside the other:
    'Fenix' and 'Fenix at the Argyle') | fair (>=0.75) | partial (>=0.55) | different;
    plus a bonus for
    agreeing on a rare word (up to ``rare_bonus_max``)."""
    if not a.name_key or not b.name_key:
        return MISSING
    sim, rare = weighted_token_similarity(a.name_tokens, b.name_tokens, stats)
    whole = fuzz.ratio(a.name_key.replace(" ", ""), b.name_key.replace(" ", "")) / 100.0
    sim = max(sim, whole * 0.97)
    bonus = max(0.0, min(w.rare_bonus_max, (rare - 5.0) * 0.8))
    if a.name_key == b.name_key:
        return "exact", w.exact + bonus
    if sim >= 0.95:
        return "high", w.high + bonus
    if sim >= 0.88:
        return "good", w.good + bonus * 0.5
    short, long_ = sorted((a.name_tokens, b.name_tokens), key=len)
    if rare >= 5.0 and contained(short, long_):
        return "contained", w.contained + bonus * 0.5
    if sim >= 0.75:
        return "fair", w.fair
    if sim >= 0.55:
        return "partial", w.partial
    return "different", w.different


def address_level(a: ShopFeatures, b: ShopFeatures, w: AddressWeights) -> Level:
    """Levels: exact | same_number_street | number_missing | other_number | other_street |
    other_postcode | missing."""
    if a.postcode and b.postcode and a.postcode != b.postcode:
        return "other_postcode", w.other_postcode
    if not a.street_key or not b.street_key:
        return MISSING
    same_street = (a.street_key == b.street_key
                   or fuzz.ratio(a.street_key, b.street_key) >= 90
                   or contained(*sorted((tuple(a.street_key.split()),
                                         tuple(b.street_key.split())), key=len)))
    if not same_street:
        return "other_street", w.other_street
    if not a.number or not b.number:
        return "number_missing", w.number_missing
    if a.number == b.number:
        return "exact", w.exact
    if a.number.rstrip("abcdefghijklmnopqrstuvwxyz") == b.number.rstrip(
            "abcdefghijklmnopqrstuvwxyz"):
        return "same_number_street", w.same_number_street
    return "other_number", w.other_number


def city_level(a: ShopFeatures, b: ShopFeatures, w: SameDifferent) -> Level:
    """Only when a postcode is missing: same | different | missing."""
    if a.postcode and b.postcode:
        return ("by_postcode", 0.0)
    if not a.city_key or not b.city_key:
        return MISSING
    if a.city_key == b.city_key or contained(*sorted((tuple(a.city_key.split()),
                                                      tuple(b.city_key.split())), key=len)):
        return "same", w.same
    return "different", w.different


def equal_level(x: str | None, y: str | None, w: SameDifferent) -> Level:
    """Levels: same | different | missing."""
    if not x or not y:
        return MISSING
    return ("same", w.same) if x == y else ("different", w.different)


def siret_level(a: ShopFeatures, b: ShopFeatures, w: SiretWeights) -> Level:
    """Levels: same | same_siren_other_siret (a chain's other shop) | other_siren | missing."""
    if a.siret and b.siret:
        if a.siret == b.siret:
            return "same", w.same
        if a.siret[:9] == b.siret[:9]:
            return "same_siren_other_siret", w.same_siren_other_siret
        return "other_siren", w.other_siren
    if a.siren and b.siren and a.siren != b.siren:
        return "other_siren", w.other_siren
    return MISSING


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def geo_level(a: ShopFeatures, b: ShopFeatures, w: GeoWeights) -> Level:
    """Levels: within each distance band (metres) | beyond | missing."""
    if a.lat is None or b.lat is None or a.lon is None or b.lon is None:
        return MISSING
    d = distance_m(a.lat, a.lon, b.lat, b.lon)
    for limit, weight in w.bands:
        if d <= limit:
            return f"within_{int(limit)}m", weight
    return "beyond", w.beyond


def category_level(a: ShopFeatures, b: ShopFeatures, w: CategoryWeights) -> Level:
    """Levels: overlap | disjoint | missing."""
    if not a.categories or not b.categories:
        return MISSING
    return ("overlap", w.overlap) if a.categories & b.categories else ("disjoint", w.disjoint)


# --------------------------------------------------------------------------- products
def variant_level(a: ProductFeatures, b: ProductFeatures, w: SameDifferent) -> Level:
    """Levels: same | different (a size, colour or vintage apart: hard) | missing.

    Dimensions only one side states are not compared."""
    if not a.variant and not b.variant:
        return MISSING
    da, db = dict(a.variant), dict(b.variant)
    common = set(da) & set(db)
    if any(da[k] != db[k] for k in common):
        return "different", w.different
    if common:
        return "same", w.same
    return ("one_sided", 0.0)


def title_level(a: ProductFeatures, b: ProductFeatures, w: TitleWeights, *,
                stats: TokenStats | None = None, high: float = 0.95, good: float = 0.85,
                fair: float = 0.70) -> Level:
    """Levels: high | good | fair | different | missing (token-set or weighted tokens)."""
    if not a.title_key or not b.title_key:
        return MISSING
    if stats is not None:
        sim, _ = weighted_token_similarity(a.title_tokens, b.title_tokens, stats)
        if len(set(a.title_tokens)) >= 3 and len(set(b.title_tokens)) >= 3:
            sim = max(sim, 0.9 * weighted_overlap(a.title_tokens, b.title_tokens, stats))
    else:
        sim = fuzz.token_set_ratio(a.title_key, b.title_key) / 100.0
    if sim >= high:
        return "high", w.high
    if sim >= good:
        return "good", w.good
    if sim >= fair:
        return "fair", w.fair
    return "different", w.different


def offer_price_level(a: ProductFeatures, b: ProductFeatures, w: OfferPriceWeights) -> Level:
    """Levels: within_2pct | within_10pct | beyond_30pct | between | missing."""
    if not a.price_cents or not b.price_cents:
        return MISSING
    ratio = abs(a.price_cents - b.price_cents) / max(a.price_cents, b.price_cents)
    if ratio <= 0.02:
        return "within_2pct", w.within_2pct
    if ratio <= 0.10:
        return "within_10pct", w.within_10pct
    if ratio > 0.30:
        return "beyond_30pct", w.beyond_30pct
    return "between", 0.0


def product_price_level(a: ProductFeatures, b: ProductFeatures,
                        w: ProductPriceWeights) -> Level:
    """Levels: within_10pct | beyond_50pct | between | missing."""
    if not a.price_cents or not b.price_cents:
        return MISSING
    ratio = abs(a.price_cents - b.price_cents) / max(a.price_cents, b.price_cents)
    if ratio <= 0.10:
        return "within_10pct", w.within_10pct
    if ratio > 0.50:
        return "beyond_50pct", w.beyond_50pct
    return "between", 0.0


def code_level(a: ProductFeatures, b: ProductFeatures, w: CodeWeights) -> Level:
    """Model numbers. Levels: same | contained (one inside the other, e.g. 'p6000' in
    'coolpixp6000bk') | different | missing."""
    if not a.codes or not b.codes:
        return MISSING
    if a.codes & b.codes:
        return "same", w.same
    for x in a.codes:
        for y in b.codes:
            short, long_ = (x, y) if len(x) <= len(y) else (y, x)
            if len(short) >= 4 and short in long_ and any(c.isdigit() for c in short) \
                    and any(c.isalpha() for c in short):
                return "contained", w.contained
    return "different", w.different
