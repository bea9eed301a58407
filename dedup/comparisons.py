"""Pairwise comparisons, one per field, each with documented levels.

Every comparison returns the name of the level found ("exact", "other_number",
"missing"...); what a level weighs is not decided here but learned from the
data (``dedup.estimate``) and held by the model (``dedup.model``). A missing
value on either side is level "missing", which weighs nothing: absence is not
evidence. A few other levels are neutral by construction (``NEUTRAL_LEVELS``:
an attribute only one side states, an e-mail that repeats the website).
Similarities come from ``rapidfuzz`` on the normalizer's matching forms.

``COMPARISON_LEVELS`` lists, per kind, every comparison and its levels in
order; ``config/matching.yaml`` must give a prior for each (banded levels such
as ``within_40m`` or ``within_10pct`` take their bounds from their names).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from dedup.features import ProductFeatures, ShopFeatures, TokenStats

MISSING = "missing"
# levels that weigh nothing whatever the data: absence, one-sided attributes, evidence
# already counted by another comparison
NEUTRAL_LEVELS = frozenset({MISSING, "one_sided", "same_as_website", "by_postcode",
                            "by_address", "named"})

LevelNames = Callable[[Mapping[str, Any]], tuple[str, ...]]


def _fixed(*levels: str) -> LevelNames:
    return lambda _configured: levels


_BAND = re.compile(r"^(within|beyond)_(\d+(?:\.\d+)?)(m|pct)$")


def _banded(unit: str, *fixed: str) -> LevelNames:
    """Levels named ``within_<N><unit>`` (ascending) and ``beyond_<N><unit>``/fixed ones."""
    def names(configured: Mapping[str, Any]) -> tuple[str, ...]:
        within: list[tuple[float, str]] = []
        beyond: list[tuple[float, str]] = []
        for name in configured:
            m = _BAND.match(name)
            if m and m.group(3) == unit:
                (within if m.group(1) == "within" else beyond).append((float(m.group(2)), name))
        return (tuple(n for _, n in sorted(within)) + fixed
                + tuple(n for _, n in sorted(beyond)))
    return names


COMPARISON_LEVELS: dict[str, dict[str, LevelNames]] = {
    "shops": {
        "name": _fixed("exact", "high", "good", "contained", "fair", "partial", "different",
                       "different_legal"),
        "address": _fixed("exact", "same_number_street", "number_missing", "other_number",
                          "other_street", "other_postcode"),
        "city": _fixed("same", "different"),
        "phone": _fixed("same", "different"),
        "siret": _fixed("same", "same_siren", "same_siren_other_siret", "other_siren"),
        "website": _fixed("same", "different"),
        "email": _fixed("same", "different"),
        "geo": _banded("m", "beyond"),
        "category": _fixed("overlap", "disjoint"),
    },
    "offers": {
        "gtin": _fixed("same", "different"),
        "variant": _fixed("same", "different"),
        "title": _fixed("exact", "high", "good", "contained", "fair", "different"),
        "brand": _fixed("same", "similar", "different"),
        "price": _banded("pct", "between"),
    },
    "products": {
        "identity": _fixed("house_items"),
        "gtin": _fixed("same", "different"),
        "code": _fixed("same", "contained", "different"),
        "variant": _fixed("same", "different"),
        "title": _fixed("exact", "high", "good", "contained", "fair", "different"),
        "brand": _fixed("same", "similar", "different"),
        "price": _banded("pct", "between"),
    },
}


def band_limits(levels: Sequence[str]) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """(within bands, beyond bands) as ascending (bound, level) from banded level names."""
    within: list[tuple[float, str]] = []
    beyond: list[tuple[float, str]] = []
    for name in levels:
        m = _BAND.match(name)
        if m:
            (within if m.group(1) == "within" else beyond).append((float(m.group(2)), name))
    return sorted(within), sorted(beyond)


# --------------------------------------------------------------------------- text
@lru_cache(maxsize=1_000_000)
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
                              stats: TokenStats) -> tuple[float, str | None]:
    """(similarity 0..1, the rarest word both share exactly, if any).

    Each word weighs its idf; a word of one side counts as matched by its best
    counterpart on the other side (exact, one slip, or Jaro-Winkler >= 0.93).
    """
    if not a or not b:
        return 0.0, None
    total = matched = 0.0
    rare: str | None = None
    rare_idf = -1.0
    set_a, set_b = set(a), set(b)
    for side, other, other_set in ((a, b, set_b), (b, a, set_a)):
        for token, w in zip(side, stats.weights(side), strict=True):
            total += w
            if token in other_set:
                matched += w
                if w > rare_idf or (w == rare_idf and rare is not None and token < rare):
                    rare, rare_idf = token, w
                continue
            best = 0.0
            for o in other:
                value = _token_match(token, o)
                if value > best:
                    best = value
            matched += w * best
    return (matched / total if total else 0.0), rare


def contained(short: tuple[str, ...], long_: tuple[str, ...]) -> bool:
    """Every word of ``short`` is in ``long_`` (a slip allowed in long words)."""
    if not short or len(short) > len(long_):
        return False
    return all(any(_token_match(t, o) >= 0.9 for o in long_) for t in short)


# --------------------------------------------------------------------------- shops
NAME_THRESHOLDS = {"high": 0.95, "good": 0.88, "fair": 0.75, "partial": 0.55}
CONTAINED_MIN_IDF = 5.0  # the shared word of a contained name is rarer than 1 listing in ~20


def name_level(a: ShopFeatures, b: ShopFeatures, stats: TokenStats,
               thresholds: Mapping[str, float] = NAME_THRESHOLDS) -> tuple[str, str | None]:
    """(level, rarest shared word). Levels: exact | high | good | contained (one name inside
    the other: 'Fenix' and 'Fenix at the Argyle') | fair | partial | different |
    different_legal (different, and one is a registered name with its legal form, which
    needs not resemble the sign the shop trades under) | missing."""
    if not a.name_key or not b.name_key:
        return MISSING, None
    sim, rare = weighted_token_similarity(a.name_tokens, b.name_tokens, stats)
    if a.name_key == b.name_key:
        return "exact", rare
    whole = fuzz.ratio(a.name_key.replace(" ", ""), b.name_key.replace(" ", "")) / 100.0
    sim = max(sim, whole * 0.97)
    if sim >= thresholds["high"]:
        return "high", rare
    if sim >= thresholds["good"]:
        return "good", rare
    short, long_ = sorted((a.name_tokens, b.name_tokens), key=len)
    if rare is not None and stats.idf(rare) >= CONTAINED_MIN_IDF and contained(short, long_):
        return "contained", rare
    if sim >= thresholds["fair"]:
        return "fair", rare
    if sim >= thresholds["partial"]:
        return "partial", rare
    return ("different_legal" if a.legal_name or b.legal_name else "different"), None


def address_level(a: ShopFeatures, b: ShopFeatures) -> str:
    """Levels: exact | same_number_street | number_missing | other_number | other_street |
    other_postcode | missing."""
    if a.postcode and b.postcode and a.postcode != b.postcode:
        return "other_postcode"
    if not a.street_key or not b.street_key:
        return MISSING
    same_street = (a.street_key == b.street_key
                   or fuzz.ratio(a.street_key, b.street_key) >= 90
                   or contained(*sorted((tuple(a.street_key.split()),
                                         tuple(b.street_key.split())), key=len)))
    if not same_street:
        return "other_street"
    if not a.number or not b.number:
        return "number_missing"
    if a.number == b.number:
        return "exact"
    if a.number.rstrip("abcdefghijklmnopqrstuvwxyz") == b.number.rstrip(
            "abcdefghijklmnopqrstuvwxyz"):
        return "same_number_street"
    return "other_number"


def city_level(a: ShopFeatures, b: ShopFeatures) -> str:
    """Only when a postcode is missing: same | different | missing; by_postcode (neutral:
    the address comparison already weighs the postcodes)."""
    if a.postcode and b.postcode:
        return "by_postcode"
    if not a.city_key or not b.city_key:
        return MISSING
    if a.city_key == b.city_key or contained(*sorted((tuple(a.city_key.split()),
                                                      tuple(b.city_key.split())), key=len)):
        return "same"
    return "different"


def equal_level(x: str | None, y: str | None) -> str:
    """Levels: same | different | missing."""
    if not x or not y:
        return MISSING
    return "same" if x == y else "different"


def siret_level(a: ShopFeatures, b: ShopFeatures) -> str:
    """Levels: same | same_siren (one side gives only the company, and it agrees) |
    same_siren_other_siret (a chain's other shop) | other_siren | missing."""
    if a.siret and b.siret:
        if a.siret == b.siret:
            return "same"
        if a.siret[:9] == b.siret[:9]:
            return "same_siren_other_siret"
        return "other_siren"
    if a.siren and b.siren:
        return "same_siren" if a.siren == b.siren else "other_siren"
    return MISSING


def email_level(a: ShopFeatures, b: ShopFeatures) -> str:
    """Levels: same | different | same_as_website (the address repeats the website: counted
    once, neutral) | missing."""
    if not a.email or not b.email:
        return MISSING
    if a.email != b.email:
        return "different"
    domain = a.email.rpartition("@")[2]
    if a.website and a.website == b.website and a.website.endswith(domain):
        return "same_as_website"
    return "same"


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


SAME_STREET_LEVELS = frozenset({"exact", "same_number_street", "number_missing",
                                "other_number"})


def geo_level(a: ShopFeatures, b: ShopFeatures, bands: Sequence[tuple[float, str]],
              address: str | None = None) -> str:
    """Levels: within each distance band (``within_40m``...) | beyond | by_address | missing.

    When the two addresses are on one street (``address`` is a same-street level), the
    distance says again what the address said, so it is not counted twice: level
    by_address (neutral), unless the points are beyond the last band (a geocoding that
    far apart is still hard evidence of two places)."""
    if a.lat is None or b.lat is None or a.lon is None or b.lon is None:
        return MISSING
    d = distance_m(a.lat, a.lon, b.lat, b.lon)
    for limit, level in bands:
        if d <= limit:
            return "by_address" if address in SAME_STREET_LEVELS else level
    return "beyond"


def category_level(a: ShopFeatures, b: ShopFeatures) -> str:
    """Levels: overlap | disjoint | missing."""
    if not a.categories or not b.categories:
        return MISSING
    return "overlap" if a.categories & b.categories else "disjoint"


# --------------------------------------------------------------------------- products
def variant_level(a: ProductFeatures, b: ProductFeatures) -> str:
    """Levels: same | different (a size, colour, count or vintage apart: hard) | one_sided
    (attributes only one side states: neutral) | missing.

    A dimension with several values ("acier+noir") agrees with a side stating some of
    them ("noir"): one listing names more of the same product's colours; it conflicts
    only when the two share no value."""
    if not a.variant or not b.variant:
        return MISSING
    da, db = dict(a.variant), dict(b.variant)
    common = da.keys() & db.keys()
    for k in common:
        if da[k] != db[k] and not set(da[k].split("+")) & set(db[k].split("+")):
            return "different"
    return "same" if common else "one_sided"


OFFER_TITLE_THRESHOLDS = {"high": 0.95, "good": 0.85, "fair": 0.70}
PRODUCT_TITLE_THRESHOLDS = {"high": 0.85, "good": 0.65, "fair": 0.45}


def title_level(a: ProductFeatures, b: ProductFeatures, stats: TokenStats,
                thresholds: Mapping[str, float], *,
                overlap: bool = False) -> tuple[str, str | None]:
    """(level, rarest shared word). Levels: exact (same words) | high | good | contained
    (every word of one title is in the other: 'Chocolatine' in 'Chocolatine pur beurre')
    | fair | different | missing, on the titles' core words (brand and attributes set
    apart, each weighed by its own comparison), each word weighing its idf. With
    ``overlap``, a short title found inside a long one counts towards the similarity
    ('sony dvp-ns700h' in a catalogue's full description of it)."""
    ta, tb = a.core_tokens, b.core_tokens
    if not ta or not tb:
        return MISSING, None
    sim, rare = weighted_token_similarity(ta, tb, stats)
    if set(ta) == set(tb):
        return "exact", rare
    if overlap and len(set(ta)) >= 3 and len(set(tb)) >= 3:
        sim = max(sim, 0.9 * weighted_overlap(ta, tb, stats))
    if sim >= thresholds["high"]:
        return "high", rare
    if sim >= thresholds["good"]:
        return "good", rare
    short, long_ = (ta, tb) if len(set(ta)) <= len(set(tb)) else (tb, ta)
    if rare is not None and contained(tuple(set(short)), long_):
        return "contained", rare
    if sim >= thresholds["fair"]:
        return "fair", rare
    return "different", None


BRAND_SIMILAR = 0.7


def brand_level(a: ProductFeatures, b: ProductFeatures, stats: TokenStats) -> str:
    """Levels: same | similar (one written inside the other, or most of their telling words
    shared: 'Kuhnhenn Brewing' / 'Kuhnhenn Brewing Company', words such as 'brewing' or
    'company' weighing little as ``stats`` counts them over brands) | different | missing."""
    if not a.brand_key or not b.brand_key:
        return MISSING
    if a.brand_key == b.brand_key:
        return "same"
    ta, tb = tuple(a.brand_key.split()), tuple(b.brand_key.split())
    if not set(ta) & set(tb) and fuzz.ratio(a.brand_key, b.brand_key) < 70:
        return "different"  # nothing in common: spare the word by word comparison
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    if contained(short, long_) or weighted_token_similarity(ta, tb, stats)[0] >= BRAND_SIMILAR:
        return "similar"
    return "different"


def identity_level(a: ProductFeatures, b: ProductFeatures) -> str:
    """Levels: house_items (both are shops' own items, ``features.mark_house_items``: a
    tart or a gift card, and the same title in two shops is two products) | named
    (neutral)."""
    return "house_items" if a.house_item and b.house_item else "named"


def price_level(a: ProductFeatures, b: ProductFeatures, within: Sequence[tuple[float, str]],
                beyond: Sequence[tuple[float, str]]) -> str:
    """Levels: within each band (``within_2pct``...) | between | beyond a bound
    (``beyond_30pct``) | missing; relative to the dearer price."""
    if not a.price_cents or not b.price_cents:
        return MISSING
    pct = 100.0 * abs(a.price_cents - b.price_cents) / max(a.price_cents, b.price_cents)
    for limit, level in within:
        if pct <= limit:
            return level
    for limit, level in reversed(beyond):
        if pct > limit:
            return level
    return "between"


def code_level(a: ProductFeatures, b: ProductFeatures) -> str:
    """Model numbers. Levels: same | contained (one inside the other, e.g. 'p6000' in
    'coolpixp6000bk') | different | missing."""
    if not a.codes or not b.codes:
        return MISSING
    if a.codes & b.codes:
        return "same"
    for x in a.codes:
        for y in b.codes:
            short, long_ = (x, y) if len(x) <= len(y) else (y, x)
            if len(short) >= 4 and short in long_ and any(c.isdigit() for c in short) \
                    and any(c.isalpha() for c in short):
                return "contained"
    return "different"
