"""Compact match records built once per clean listing, and corpus statistics.

The comparisons run millions of times; everything they need is computed here
once per listing: tokens, keys, model codes, coordinates. ``TokenStats`` holds
how often each name or title word occurs, so that agreeing on a rare word
weighs more than agreeing on "boulangerie".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Key = str  # "source:source_id"


def listing_key(source: str, source_id: str) -> Key:
    return f"{source}:{source_id}"


@dataclass(slots=True)
class ShopFeatures:
    key: Key
    source: str
    name_key: str | None
    name_tokens: tuple[str, ...]
    street_key: str | None
    number: str | None  # "12" or "12bis"
    postcode: str | None
    city_key: str | None
    phone: str | None
    siret: str | None
    siren: str | None
    website: str | None
    email: str | None
    lat: float | None
    lon: float | None
    categories: frozenset[str]
    legal_name: bool = False  # the name carries a legal form: a registered name, not a sign


@dataclass(slots=True)
class ProductFeatures:
    key: Key
    source: str
    shop_key: Key | None  # the listing key of its shop on the same source
    title_key: str | None
    title_tokens: tuple[str, ...]
    core_tokens: tuple[str, ...]  # title words without its attributes and brand
    variant: tuple[tuple[str, str], ...]
    brand_key: str | None
    gtin: str | None
    price_cents: int | None
    codes: frozenset[str]
    category: str | None
    house_item: bool = False  # a shop's own item: see ``mark_house_items``


def shop_features(clean: Any) -> ShopFeatures:
    """Match record of a CleanShop."""
    number = None
    if clean.street_number:
        number = clean.street_number + (clean.street_suffix or "")
    return ShopFeatures(
        key=listing_key(clean.source, clean.source_id),
        source=clean.source,
        name_key=clean.name_key,
        name_tokens=tuple(clean.name_tokens),
        street_key=clean.street_key,
        number=number,
        postcode=clean.postcode,
        city_key=clean.city_key,
        phone=clean.phone,
        siret=clean.siret,
        siren=clean.siren,
        website=clean.website_host,
        email=clean.email,
        lat=clean.lat,
        lon=clean.lon,
        categories=frozenset(clean.categories),
        legal_name=bool(getattr(clean, "legal_form", None)) or company_style(clean.name_tokens),
    )


def company_style(tokens: tuple[str, ...] | list[str]) -> bool:
    """A name written as a company is registered, without a legal form: 'HOLDING PICARD',
    'SIMON ET FILS', 'Lopez & Cie' (the forms a trade register gives a family firm; a
    rule written after seeing the registry platform's names under the hard profile)."""
    words = tuple(tokens)
    return (len(words) >= 2 and words[0] == "holding") or (
        len(words) >= 3 and words[-2] == "et" and words[-1] in COMPANY_TAILS)


COMPANY_TAILS = frozenset({"fils", "cie", "compagnie"})


def product_features(clean: Any, brands: BrandIndex | None = None) -> ProductFeatures:
    """Match record of a CleanProduct; ``brands`` finds a brand written inside the title."""
    shop_key = listing_key(clean.source, clean.shop_source_id) if clean.shop_source_id else None
    raw_title = clean.raw.get("title") if isinstance(clean.raw, dict) else None
    title_tokens = tuple(clean.title_tokens)
    core = tuple(getattr(clean, "title_core", None) or title_tokens)
    brand_key = clean.brand_key
    if brand_key is None and brands is not None:
        brand_key = brands.find(title_tokens)
    if brand_key:
        brand_words = set(brand_key.split())
        without = tuple(t for t in core if t not in brand_words)
        core = without or core
    return ProductFeatures(
        key=listing_key(clean.source, clean.source_id),
        source=clean.source,
        shop_key=shop_key,
        title_key=clean.title_key,
        title_tokens=title_tokens,
        core_tokens=core,
        variant=tuple(clean.variant),
        brand_key=brand_key,
        gtin=clean.gtin,
        price_cents=clean.price_cents,
        codes=model_codes(raw_title or clean.title or ""),
        category=clean.category,
    )


_CODE_RUN = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")
_UNIT_LIKE = re.compile(
    r"^\d+(?:[.,]\d+)?(?:gb|go|mb|mo|tb|to|ghz|mhz|hz|mm|cm|m|in|inch|ft|w|v|mp|mpx|x|g|gr|kg|"
    r"ml|cl|dl|l|lb|lbs|oz|pack|pk|pc|pcs|port|ports|p|k|th|st|nd|rd|s|h|min|ans|mois|"
    r"pieces|pièces|parts|cm2|ah|mah|db|lm)$")
_DIMENSIONS = re.compile(r"^\d+x\d+")
# a count before a word ('2line', '2way', '4door'), not a code such as '20wlbk'
_COUNT_WORD = re.compile(r"^\d{1,2}[a-z]*[aeiouy][a-z]*$")




@lru_cache(maxsize=200_000)
def model_codes(title: str) -> frozenset[str]:
    """Model numbers in a title: tokens mixing letters and digits ('KDL-40V4100' -> 'kdl40v4100').

    Quantities ('750ml', '32gb', '4x30mm') are not codes: they are shared by many
    different products; nor is a count before a word ('2-line', '2-way'), nor a list
    joined across slashes ('cd/wma/mp3'); a short suffix after a slash is the code's own
    ('dvpfx820/r' -> 'dvpfx820r', a colour of the model).
    """
    text = title.lower()
    codes: set[str] = set()
    for run in _CODE_RUN.findall(text):
        candidates: set[str] = set()
        pieces = run.split("/")
        if len(pieces) == 2 and len(pieces[1]) <= 2 and pieces[1].isalpha():
            pieces = [pieces[0] + pieces[1]] + pieces
        for piece in pieces:
            parts = re.split(r"[-.]", piece)
            candidates |= {"".join(parts)} | set(parts)
        for cand in candidates:
            if _COUNT_WORD.match(cand) and len(cand) - sum(c.isdigit() for c in cand) >= 3:
                continue
            if len(cand) < 3 or not any(c.isdigit() for c in cand):
                continue
            if len(cand) == 3 and not (cand[0].isalpha() and cand[1:].isdigit()):
                continue  # 'g10' is a model, '3d' or '4k' are not
            if not any(c.isalpha() for c in cand) and len(cand) < 6:
                continue
            if _UNIT_LIKE.match(cand) or _DIMENSIONS.match(cand):
                continue
            if cand.isdigit() and 1900 <= int(cand) <= 2099:
                continue
            codes.add(cand)
    return frozenset(codes)


def brand_stats(brand_keys: Iterable[str | None]) -> TokenStats:
    """How many distinct brands carry each word ('brewing', 'company' say little)."""
    return TokenStats(key.split() for key in {k for k in brand_keys if k})


HOUSE_ITEM_MIN_SHARE = 0.2


def mark_house_items(records: list[ProductFeatures]) -> None:
    """Mark the shops' own items: no GTIN, no brand, no model number, on a platform that
    names a GTIN or a brand for at least a fifth of its products (where none ever does,
    their absence says nothing: a catalogue without such fields)."""
    named: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for r in records:
        total[r.source] += 1
        if r.gtin or r.brand_key:
            named[r.source] += 1
    for r in records:
        r.house_item = (not (r.gtin or r.brand_key or r.codes)
                        and named[r.source] >= HOUSE_ITEM_MIN_SHARE * total[r.source])


class BrandIndex:
    """Brands seen in the listings' brand fields, to find them written inside titles.

    A brand counts once at least ``min_listings`` listings give it in their brand field;
    a one-word brand needs three letters or more ("Lip" yes, "Xo" no).
    """

    def __init__(self, brand_keys: Iterable[str | None] = (), min_listings: int = 2) -> None:
        counts = Counter(k for k in brand_keys if k)
        self.by_first: dict[str, list[tuple[str, ...]]] = {}
        for key, count in counts.items():
            words = tuple(key.split())
            if count < min_listings or not words or (len(words) == 1 and len(words[0]) < 3):
                continue
            self.by_first.setdefault(words[0], []).append(words)
        for options in self.by_first.values():
            options.sort(key=len, reverse=True)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_first.values())

    def find(self, tokens: tuple[str, ...]) -> str | None:
        """The longest known brand written as consecutive words of ``tokens``."""
        best: tuple[str, ...] | None = None
        for i, token in enumerate(tokens):
            for words in self.by_first.get(token, ()):
                if tokens[i:i + len(words)] == words and (best is None or len(words) > len(best)):
                    best = words
                    break
        return " ".join(best) if best else None


class TokenStats:
    """How many listings carry each word; the rarer, the more agreement on it weighs."""

    def __init__(self, documents: Iterable[Iterable[str]] = ()) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        self._idf: dict[str, float] = {}
        self._weights: dict[tuple[str, ...], tuple[float, ...]] = {}
        for tokens in documents:
            self.df.update(set(tokens))
            self.n += 1

    def add(self, tokens: Iterable[str]) -> None:
        self.df.update(set(tokens))
        self.n += 1
        self._idf.clear()
        self._weights.clear()

    def remove(self, tokens: Iterable[str]) -> None:
        for token in set(tokens):
            self.df[token] -= 1
            if self.df[token] <= 0:
                del self.df[token]
        self.n = max(0, self.n - 1)
        self._idf.clear()
        self._weights.clear()

    def weights(self, tokens: tuple[str, ...]) -> tuple[float, ...]:
        """The idf of each word of a tuple (cached per tuple: titles repeat)."""
        found = self._weights.get(tokens)
        if found is None:
            found = self._weights[tokens] = tuple(self.idf(t) for t in tokens)
        return found

    def idf(self, token: str) -> float:
        """log2 of how many times rarer than 'every listing' the word is."""
        value = self._idf.get(token)
        if value is None:
            value = self._idf[token] = math.log2((self.n + 1) / (self.df.get(token, 0) + 1)) \
                + 0.5
        return value

    def rarest(self, tokens: Iterable[str], count: int) -> list[str]:
        unique = sorted(set(tokens), key=lambda t: (self.df.get(t, 0), t))
        return unique[:count]

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "df": dict(self.df)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenStats:
        stats = cls()
        stats.n = int(data.get("n", 0))
        stats.df = Counter({k: int(v) for k, v in data.get("df", {}).items()})
        stats._idf.clear()
        stats._weights.clear()
        return stats
