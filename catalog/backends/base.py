"""The search interface every backend implements, the objects callers see, and what
every engine shares.

Callers (the CLI, the Flask app, the pipeline's index stage) build a
``SearchQuery`` (``catalog.backends.query.parse_search`` reads one from request
or command-line arguments), call ``backend.search(query)`` and read a
``SearchResults``; they never know which engine answered. ``BaseBackend`` holds
what does not depend on the engine: a query made safe (``normalize_query``: text
bounded and stripped of control characters, filters checked, page and page size
clamped, the ``kind`` filter turned into the search's scope), price buckets,
distances, and hits.

Scope and kinds: a search covers the kinds in ``SearchQuery.kinds`` (shops and
products by default); a ``kind`` filter replaces them. An offer that no product
groups (a shop's own item: a bakery's tart) answers for ``product`` too, with
``Hit.kind == "offer"``; the ``kind`` facet counts hits by the scope they answer
for, so that choosing a facet value gives that many hits.

Example:
    >>> q = normalize_query(SearchQuery(text=" fromagerie\\x00 ", filters=(("kind", ("shop",)),),
    ...                                 per_page=10_000))
    >>> q.text, q.kinds, q.filters, q.per_page
    ('fromagerie', ('shop',), (), 100)
"""

from __future__ import annotations

import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

KINDS = ("shop", "product", "offer")
DEFAULT_KINDS = ("shop", "product")
SORTS = ("relevance", "distance", "price_asc", "price_desc")
FILTER_KEYS = ("kind", "platform", "category", "commune", "service", "flag", "territory")
FACETS = ("kind", "platform", "category", "commune", "service", "price")
EXTRA_FACETS = ("flag",)
FACET_SIZE = 50
MAX_QUERY_LENGTH = 200
MAX_PER_PAGE = 100
MAX_PAGE = 500
MAX_FILTER_VALUES = 20
MAX_FILTER_VALUE_LENGTH = 100
MIN_RADIUS_KM = 0.1
MAX_RADIUS_KM = 200.0  # a region's width: "near me" never means further
EARTH_RADIUS_KM = 6371.0088  # the mean radius Elasticsearch's arc distance uses
# Price buckets in cents: [lower, upper), the last open; the facet's values are "lo-hi".
PRICE_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 1000), (1000, 2000), (2000, 5000), (5000, 10000), (10000, 20000), (20000, None))
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


@dataclass(frozen=True)
class SearchQuery:
    """What a shopper asks: text, filters, a place, an order, a page.

    ``filters`` maps a FILTER_KEYS key to the values accepted (OR within a key,
    AND across keys); ``price_min``/``price_max`` are in cents and keep shops
    out; ``near`` is (lat, lon) and ``radius_km`` limits the distance.
    ``as_typed``: search the text exactly as typed, never a correction of it (the
    link back from corrected results).
    """

    text: str = ""
    kinds: tuple[str, ...] = DEFAULT_KINDS
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    price_min: int | None = None
    price_max: int | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facets: tuple[str, ...] = FACETS
    highlight: bool = True
    as_typed: bool = False

    def filter_values(self, key: str) -> tuple[str, ...]:
        return dict(self.filters).get(key, ())


@dataclass
class Hit:
    """One result: the entity, why it matched, and how far it is."""

    entity_id: str
    kind: str
    name: str
    score: float
    document: dict[str, Any]
    distance_km: float | None = None
    highlights: dict[str, str] = field(default_factory=dict)  # field -> HTML with <mark>

    @property
    def listings(self) -> list[dict[str, Any]]:
        return self.document.get("sources", [])


@dataclass
class SearchResults:
    """A page of hits, the total, the facet counts, and what to tell the shopper.

    ``suggestion``: "vouliez-vous dire" when the text looks misspelt.
    ``corrected_from``: set when the hits are those of ``suggestion`` because the text
    as typed found fewer or weaker ones (the page offers the typed text back).
    ``approximate``: the facet counts were estimated, the query having passed its
    time budget (the total and the hits are exact).
    """

    query: SearchQuery
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]]
    suggestion: str | None = None
    took_ms: float = 0.0
    corrected_from: str | None = None
    approximate: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str
    entity_id: str | None = None


@dataclass
class IndexReport:
    documents: int
    seconds: float
    index_name: str


class SearchBackend(ABC):
    """One search engine behind the common interface."""

    name: str = "backend"

    @abstractmethod
    def index_build(self, documents: Iterable[dict[str, Any]], build_id: int) -> IndexReport:
        """Index a whole build and swap it in atomically (searches under way never see
        half an index)."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResults:
        """Answer a query from the current index."""

    @abstractmethod
    def suggest(self, prefix: str, limit: int = 8, territory: str | None = None
                ) -> list[Suggestion]:
        """Completions for what the shopper is typing (in ``territory`` when given)."""

    @abstractmethod
    def get(self, entity_id: str) -> dict[str, Any] | None:
        """One indexed document by entity id."""

    def close(self) -> None:
        """Release connections."""
        return None


# --------------------------------------------------------------------------- shared pieces
def bucket_key(lo: int, hi: int | None) -> str:
    return f"{lo}-{'' if hi is None else hi}"


BUCKET_KEYS = tuple(bucket_key(lo, hi) for lo, hi in PRICE_BUCKETS)


def price_bucket(cents: int | None) -> str | None:
    """The price facet value a price falls in ("1000-2000" = 10 € to 19.99 €)."""
    if cents is None:
        return None
    for lo, hi in PRICE_BUCKETS:
        if cents >= lo and (hi is None or cents < hi):
            return bucket_key(lo, hi)
    return None


def parse_bucket(value: str) -> tuple[int | None, int | None]:
    """(price_min, price_max) in cents for a price facet value ("1000-2000" -> 1000, 1999)."""
    lo, _, hi = value.partition("-")
    return (int(lo) if lo else None, int(hi) - 1 if hi else None)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_to(doc: Mapping[str, Any], near: tuple[float, float] | None) -> float | None:
    """Km from ``near`` to the document's closest location (a product: its closest shop)."""
    if near is None:
        return None
    found = [haversine_km(near[0], near[1], loc["lat"], loc["lon"])
             for loc in doc.get("locations") or []]
    return round(min(found), 3) if found else None


def bounding_box(near: tuple[float, float], radius_km: float) -> tuple[float, float, float,
                                                                      float]:
    """(lat_min, lat_max, lon_min, lon_max) holding every point within ``radius_km``."""
    lat, _lon = near
    dlat = radius_km / 111.0 * 1.01
    dlon = min(180.0, radius_km / (111.32 * max(0.01, math.cos(math.radians(lat)))) * 1.01
               + dlat)
    return lat - dlat, lat + dlat, near[1] - dlon, near[1] + dlon


def clean_text(text: Any) -> str:
    """Query text as plain text: a string, no control characters, bounded length."""
    text = _CONTROL.sub(" ", str(text or ""))
    return " ".join(text.split())[:MAX_QUERY_LENGTH].strip()


def normalize_query(query: SearchQuery) -> SearchQuery:
    """The query made safe for any engine; raises ValueError for what cannot be fixed.

    The request parser (``catalog.backends.query``) refuses out-of-bounds values with a
    reason; this is the engines' own guard, for queries built in code.
    """
    if query.sort not in SORTS:
        raise ValueError(f"unknown sort {query.sort!r}; one of {', '.join(SORTS)}")
    filters: dict[str, tuple[str, ...]] = {}
    for key, values in query.filters:
        if key not in FILTER_KEYS:
            raise ValueError(f"unknown filter {key!r}; one of {', '.join(FILTER_KEYS)}")
        if isinstance(values, str):
            values = (values,)
        cleaned = tuple(dict.fromkeys(
            clean_text(v)[:MAX_FILTER_VALUE_LENGTH] for v in values if clean_text(v)))
        if cleaned:
            filters[key] = tuple(dict.fromkeys(filters.get(key, ()) + cleaned))[
                :MAX_FILTER_VALUES]
    kinds = tuple(k for k in dict.fromkeys(query.kinds or ()) if k in KINDS)
    if "kind" in filters:
        unknown = [k for k in filters["kind"] if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown kind {unknown[0]!r}; one of {', '.join(KINDS)}")
        kinds = filters.pop("kind")
    kinds = kinds or DEFAULT_KINDS
    price_min = _cents(query.price_min)
    price_max = _cents(query.price_max)
    if price_min is not None and price_max is not None and price_min > price_max:
        price_min, price_max = price_max, price_min
    near = None
    if query.near is not None:
        lat, lon = (float(query.near[0]), float(query.near[1]))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat + lon):
            raise ValueError(f"not a point: {lat},{lon}")
        near = (lat, lon)
    radius = None
    if query.radius_km is not None and near is not None:
        radius = float(query.radius_km)
        if not radius > 0:
            raise ValueError("radius_km must be positive")
        radius = min(radius, MAX_RADIUS_KM)
    sort = query.sort if query.sort != "distance" or near is not None else "relevance"
    facets = tuple(f for f in dict.fromkeys(query.facets) if f in FACETS + EXTRA_FACETS)
    return replace(
        query, text=clean_text(query.text), kinds=kinds,
        filters=tuple(sorted(filters.items())), price_min=price_min, price_max=price_max,
        near=near, radius_km=radius, sort=sort,
        page=min(max(1, int(query.page)), MAX_PAGE),
        per_page=min(max(1, int(query.per_page)), MAX_PER_PAGE), facets=facets)


def _cents(value: Any) -> int | None:
    if value is None:
        return None
    try:
        cents = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"not a price in cents: {value!r}") from None
    if cents < 0:
        raise ValueError("a price cannot be negative")
    return cents


class BaseBackend(SearchBackend):
    """What every engine shares: query normalisation, hits, distances, timings."""

    def normalize(self, query: SearchQuery) -> SearchQuery:
        return normalize_query(query)

    @staticmethod
    def make_hit(doc: dict[str, Any], score: float, query: SearchQuery,
                 highlights: dict[str, str] | None = None, *,
                 distance_km: float | None = None) -> Hit:
        """A hit; its distance from the document's locations unless the engine gives it."""
        if distance_km is None:
            distance_km = distance_to(doc, query.near)
        return Hit(entity_id=doc["id"], kind=doc["kind"], name=doc.get("name") or "",
                   score=float(score), document=doc, distance_km=distance_km,
                   highlights=highlights or {})

    @staticmethod
    def elapsed_ms(started: float) -> float:
        return round((time.perf_counter() - started) * 1000, 2)
