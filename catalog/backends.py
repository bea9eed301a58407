"""Opening a search backend, and what every backend shares.

``open_backend`` returns the embedded SQLite FTS5 index of the catalog, or the
Elasticsearch/OpenSearch one when ``AGORA_ELASTICSEARCH_URL`` is set.
``BaseBackend`` holds what does not depend on the engine: a query made safe
(``normalize_query``: text bounded and stripped of control characters, filters
checked, page and page size clamped, the ``kind`` filter turned into the
search's scope), price buckets, distances, and result shaping. ``query_from_args``
builds a ``SearchQuery`` from request or command-line arguments, for the web
app and the CLI alike.

Scope and kinds: a search covers the kinds in ``SearchQuery.kinds`` (shops and
products by default); a ``kind`` filter replaces them. An offer that no product
groups (a shop's own item: a bakery's tart) answers for ``product`` too, with
``Hit.kind == "offer"``; the ``kind`` facet counts hits by the scope they answer
for, so that choosing a facet value gives that many hits.

Example:
    >>> q = query_from_args({"q": "fromagerie", "commune": "Toulouse", "price_max": "12,50",
    ...                      "near": "43.6,1.44", "page": "2"})
    >>> q.filters, q.price_max, q.near, q.page
    ((('commune', ('Toulouse',)),), 1250, (43.6, 1.44), 2)
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from catalog.search import (
    FACETS,
    FILTER_KEYS,
    KINDS,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    SORTS,
    Hit,
    SearchBackend,
    SearchQuery,
)

DEFAULT_KINDS = ("shop", "product")
EXTRA_FACETS = ("flag",)
FACET_SIZE = 50
MAX_FILTER_VALUES = 30
MAX_FILTER_VALUE_LENGTH = 100
MAX_RADIUS_KM = 1000.0
EARTH_RADIUS_KM = 6371.0088  # the mean radius Elasticsearch's arc distance uses
# Price buckets in cents: [lower, upper), the last open; the facet's values are "lo-hi".
PRICE_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 1000), (1000, 2000), (2000, 5000), (5000, 10000), (10000, 20000), (20000, None))
ARG_FILTERS = {"platform": "platform", "category": "category", "commune": "commune",
               "service": "service", "flag": "flag", "kind": "kind"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def bucket_key(lo: int, hi: int | None) -> str:
    return f"{lo}-{'' if hi is None else hi}"


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


def clean_text(text: Any) -> str:
    """Query text as plain text: a string, no control characters, bounded length."""
    text = _CONTROL.sub(" ", str(text or ""))
    return " ".join(text.split())[:MAX_QUERY_LENGTH].strip()


def normalize_query(query: SearchQuery) -> SearchQuery:
    """The query made safe for any engine; raises ValueError for what cannot be fixed."""
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


def euros_to_cents(text: str) -> int:
    """'12,50' or '12.5' or '12 €' -> 1250."""
    cleaned = text.replace("€", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"not a price: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a price: {text!r}")
    return round(value * 100)


def parse_point(text: str) -> tuple[float, float]:
    """'43.6,1.44' -> (43.6, 1.44)."""
    try:
        lat_text, lon_text = text.replace(" ", "").split(",")
        return float(lat_text), float(lon_text)
    except ValueError:
        raise ValueError(f"not a point (LAT,LON): {text!r}") from None


def _values(args: Mapping[str, Any], key: str) -> list[str]:
    if hasattr(args, "getlist"):
        raw: Iterable[Any] = args.getlist(key)
    else:
        value = args.get(key)
        raw = [] if value is None else value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for v in raw:
        # filter values may come joined by "|" (one link per facet selection)
        out.extend(str(v).split("|") if key in ARG_FILTERS else [str(v)])
    return [v.strip() for v in out if v.strip()]


def query_from_args(args: Mapping[str, Any], **defaults: Any) -> SearchQuery:
    """A query from request arguments (a Werkzeug MultiDict, or a dict of str or lists).

    Keys: ``q``; ``kind``, ``platform``, ``category``, ``commune``, ``service``,
    ``flag`` (repeatable, or values joined by ``|``); ``price`` (a price facet
    value, "1000-2000"), ``price_min``/``price_max`` (euros, "12,50");
    ``near`` ("LAT,LON") and ``radius`` (km); ``sort``; ``page``; ``per_page``.
    Raises ValueError on a value it cannot read.
    """
    def first(key: str) -> str | None:
        vals = _values(args, key)
        return vals[0] if vals else None

    filters = []
    for arg, key in ARG_FILTERS.items():
        vals = _values(args, arg)
        if vals:
            filters.append((key, tuple(vals)))
    price_min = price_max = None
    if first("price"):
        try:
            price_min, price_max = parse_bucket(first("price") or "")
        except ValueError:
            raise ValueError(f"not a price range: {first('price')!r}") from None
    if first("price_min"):
        price_min = euros_to_cents(first("price_min") or "")
    if first("price_max"):
        price_max = euros_to_cents(first("price_max") or "")
    near = parse_point(first("near") or "") if first("near") else None
    radius = None
    if first("radius"):
        try:
            radius = float((first("radius") or "").replace(",", "."))
        except ValueError:
            raise ValueError(f"not a radius in km: {first('radius')!r}") from None
    fields: dict[str, Any] = dict(defaults)
    fields.update(text=first("q") or "", filters=tuple(filters), price_min=price_min,
                  price_max=price_max, near=near, radius_km=radius)
    if first("sort"):
        fields["sort"] = first("sort")
    for key in ("page", "per_page"):
        if first(key):
            try:
                fields[key] = int(first(key) or "")
            except ValueError:
                raise ValueError(f"{key} must be a whole number") from None
    return normalize_query(SearchQuery(**fields))


def parse_filters(pairs: Sequence[str]) -> dict[str, list[str]]:
    """``KEY=VALUE`` strings (the CLI's ``--filter``) as query arguments."""
    args: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"a filter is KEY=VALUE, not {pair!r}")
        allowed = set(ARG_FILTERS) | {"price", "price_min", "price_max", "radius", "sort"}
        if key not in allowed:
            raise ValueError(f"unknown filter {key!r}; one of {', '.join(sorted(allowed))}")
        args.setdefault(key, []).append(value)
    return args


class BaseBackend(SearchBackend):
    """What every engine shares: query normalisation, hits, distances, timings."""

    def normalize(self, query: SearchQuery) -> SearchQuery:
        return normalize_query(query)

    @staticmethod
    def make_hit(doc: dict[str, Any], score: float, query: SearchQuery,
                 highlights: dict[str, str] | None = None) -> Hit:
        return Hit(entity_id=doc["id"], kind=doc["kind"], name=doc.get("name") or "",
                   score=float(score), document=doc, distance_km=distance_to(doc, query.near),
                   highlights=highlights or {})

    @staticmethod
    def elapsed_ms(started: float) -> float:
        return round((time.perf_counter() - started) * 1000, 2)


def open_backend(catalog: Any = None, *, elasticsearch_url: str | None = None,
                 index_name: str | None = None) -> SearchBackend:
    """The search backend: Elasticsearch/OpenSearch when a URL is set, else embedded.

    Args:
        catalog: the catalog (a ``Catalog``, or its path) the embedded index lives in;
            default AGORA_HOME's.
        elasticsearch_url: overrides ``AGORA_ELASTICSEARCH_URL``.
        index_name: overrides ``AGORA_ELASTICSEARCH_INDEX`` (the alias and index prefix).
    """
    from agora import settings  # noqa: PLC0415 - a tiny registry; keeps catalog importable alone

    url = elasticsearch_url if elasticsearch_url is not None else settings.get(
        "AGORA_ELASTICSEARCH_URL")
    if url:
        from catalog.elastic import ElasticBackend  # noqa: PLC0415

        return ElasticBackend.connect(url, index_name or settings.get(
            "AGORA_ELASTICSEARCH_INDEX") or "agora")
    from catalog.embedded import EmbeddedBackend  # noqa: PLC0415

    if catalog is None:
        catalog = settings.catalog_path()
    return EmbeddedBackend(catalog)
