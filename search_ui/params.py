"""Request parameters to a ``SearchQuery``, checked and bounded, for the pages and the API.

The pages speak French (``?q=pain&plateforme=clickandco&tri=distance``), the API
English (``?q=pain&platform=clickandco&sort=distance``): one parser, two
vocabularies (``HTML`` and ``API``). Every value is bounded (text length,
values per filter, page and page size, coordinates, radius, prices) and a
wrong one raises ``BadParameter`` naming the parameter and why, which the app
turns into a 400. Prices are given in euros ("12,50" or "12.50") and kept in
cents. A place typed in (a commune, a postcode, an address) is turned into
coordinates by the ``geocode`` function given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.search import (
    FILTER_KEYS,
    KINDS,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    SORTS,
    SearchQuery,
)

MAX_VALUE_LENGTH = 100
MAX_VALUES = 20
MAX_RADIUS_KM = 200.0
MAX_PRICE_EUROS = 1_000_000
DEFAULT_PER_PAGE = 20
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_MESSAGES: dict[str, tuple[str, str]] = {
    "too_long": ("must be at most {max} characters long",
                 "doit faire au plus {max} caractères"),
    "not_integer": ("must be an integer", "doit être un nombre entier"),
    "not_number": ("must be a number", "doit être un nombre"),
    "out_of_range": ("must be between {min} and {max}", "doit être compris entre {min} et {max}"),
    "not_allowed": ("must be one of: {allowed}", "doit valoir : {allowed}"),
    "needs_position": ("needs a position: lat and lon, or {place}",
                       "demande une position : la vôtre, ou un lieu ({place})"),
    "pair": ("lat and lon must be given together", "lat et lon vont ensemble"),
    "above_max": ("must not be above {other}", "ne doit pas dépasser {other}"),
    "repeated": ("must be given at most once", "ne doit être donné qu’une fois"),
    "unknown": ("is not a parameter of this endpoint (known: {known})",
                "n’est pas un paramètre connu"),
    "too_many": ("takes at most {max} values", "accepte au plus {max} valeurs"),
    "unknown_place": ("matches no commune, postcode or street of the catalog",
                      "ne correspond à aucune commune, aucun code postal ni aucune rue connue"),
}


class BadParameter(Exception):
    """A request parameter that is wrong: which one, and why (English and French)."""

    def __init__(self, parameter: str, code: str, **details: Any) -> None:
        self.parameter = parameter
        self.code = code
        self.details = details
        english, french = _MESSAGES[code]
        self.reason = english.format(**details)
        self.reason_fr = french.format(**details)
        super().__init__(f"parameter '{parameter}' {self.reason}")

    def french(self) -> str:
        return f"Le paramètre « {self.parameter} » {self.reason_fr}."


@dataclass(frozen=True)
class Vocabulary:
    """The parameter names and values of one surface (pages or API)."""

    names: Mapping[str, str]  # field -> parameter name
    kinds: Mapping[str, str]  # value -> kind
    sorts: Mapping[str, str]  # value -> sort
    strict: bool  # unknown or repeated parameters are errors

    def param(self, name: str) -> str:
        return self.names[name]

    def kind_value(self, kind: str) -> str:
        return next((v for v, k in self.kinds.items() if k == kind), kind)

    def sort_value(self, sort: str) -> str:
        return next((v for v, s in self.sorts.items() if s == sort), sort)


API = Vocabulary(
    names={"text": "q", "kind": "kind", "platform": "platform", "category": "category",
           "commune": "commune", "service": "service", "flag": "flag",
           "price_min": "price_min", "price_max": "price_max", "lat": "lat", "lon": "lon",
           "radius": "radius_km", "place": "place", "sort": "sort", "page": "page",
           "per_page": "per_page"},
    kinds={k: k for k in KINDS},
    sorts={s: s for s in SORTS},
    strict=True,
)
HTML = Vocabulary(
    names={"text": "q", "kind": "type", "platform": "plateforme", "category": "categorie",
           "commune": "commune", "service": "service", "flag": "signal",
           "price_min": "prix_min", "price_max": "prix_max", "lat": "lat", "lon": "lon",
           "radius": "rayon", "place": "lieu", "sort": "tri", "page": "page",
           "per_page": "par_page"},
    kinds={"boutique": "shop", "produit": "product", "offre": "offer"},
    sorts={"pertinence": "relevance", "distance": "distance", "prix": "price_asc",
           "prix_desc": "price_desc"},
    strict=False,
)


@dataclass(frozen=True)
class Place:
    """Where the shopper is, or the place they typed."""

    lat: float
    lon: float
    label: str
    precision: str  # "position" (the device), "commune", "postcode", "street"


@dataclass
class ParsedSearch:
    """A request's search: the query, the place, and what to tell the shopper."""

    query: SearchQuery
    place: Place | None = None
    place_text: str = ""
    notices: list[str] = field(default_factory=list)
    explicit: bool = False  # the request asked something (text, filter or place)


Geocoder = Callable[[str], Place | None]


def _single(args: Any, name: str, vocab: Vocabulary) -> str | None:
    values = args.getlist(name)
    if not values:
        return None
    if len(values) > 1 and vocab.strict:
        raise BadParameter(name, "repeated")
    value = _CONTROL.sub("", values[0]).strip()
    return value or None


def _multi(args: Any, name: str) -> tuple[str, ...]:
    values = [_CONTROL.sub("", v).strip() for v in args.getlist(name)]
    values = list(dict.fromkeys(v for v in values if v))
    if len(values) > MAX_VALUES:
        raise BadParameter(name, "too_many", max=MAX_VALUES)
    for v in values:
        if len(v) > MAX_VALUE_LENGTH:
            raise BadParameter(name, "too_long", max=MAX_VALUE_LENGTH)
    return tuple(values)


def _int(args: Any, name: str, vocab: Vocabulary, default: int, low: int, high: int) -> int:
    raw = _single(args, name, vocab)
    if raw is None:
        return default
    if not re.fullmatch(r"[+]?\d{1,9}", raw):
        raise BadParameter(name, "not_integer")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(name, "out_of_range", min=low, max=high)
    return value


def _float(args: Any, name: str, vocab: Vocabulary, low: float, high: float) -> float | None:
    raw = _single(args, name, vocab)
    if raw is None:
        return None
    if len(raw) > 32:
        raise BadParameter(name, "too_long", max=32)
    try:
        value = float(raw.replace(",", ".").replace("\u202f", "").replace(" ", ""))
    except ValueError:
        raise BadParameter(name, "not_number") from None
    if not math.isfinite(value):
        raise BadParameter(name, "not_number")
    if not low <= value <= high:
        raise BadParameter(name, "out_of_range", min=_num(low), max=_num(high))
    return value


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def parse_search(args: Any, vocab: Vocabulary, *, geocode: Geocoder | None = None,
                 default_per_page: int = DEFAULT_PER_PAGE) -> ParsedSearch:
    """The search a request asks for.

    Args:
        args: the request's query string (a werkzeug ``MultiDict``).
        vocab: ``HTML`` or ``API``.
        geocode: turns a typed place into a ``Place``; None refuses places.
        default_per_page: the page size when none is asked.

    Returns:
        a ``ParsedSearch``.

    Raises:
        BadParameter: naming the parameter and why.

    Example:
        >>> from werkzeug.datastructures import MultiDict
        >>> parse_search(MultiDict({"q": "pain", "tri": "prix"}), HTML).query.sort
        'price_asc'
    """
    n = vocab.names
    if vocab.strict:
        known = set(n.values())
        for key in args:
            if key not in known:
                raise BadParameter(key, "unknown", known=", ".join(sorted(known)))
    text = _single(args, n["text"], vocab) or ""
    if len(text) > MAX_QUERY_LENGTH:
        raise BadParameter(n["text"], "too_long", max=MAX_QUERY_LENGTH)

    kinds_asked = _multi(args, n["kind"])
    kinds: list[str] = []
    for value in kinds_asked:
        kind = vocab.kinds.get(value)
        if kind is None:
            raise BadParameter(n["kind"], "not_allowed", allowed=", ".join(vocab.kinds))
        kinds.append(kind)

    filters: list[tuple[str, tuple[str, ...]]] = []
    for key in FILTER_KEYS:
        if key == "kind" or key not in n:
            continue
        values = _multi(args, n[key])
        if values:
            filters.append((key, values))

    price_min = _float(args, n["price_min"], vocab, 0, MAX_PRICE_EUROS)
    price_max = _float(args, n["price_max"], vocab, 0, MAX_PRICE_EUROS)
    if price_min is not None and price_max is not None and price_min > price_max:
        raise BadParameter(n["price_min"], "above_max", other=n["price_max"])

    lat = _float(args, n["lat"], vocab, -90, 90)
    lon = _float(args, n["lon"], vocab, -180, 180)
    if (lat is None) != (lon is None):
        raise BadParameter(n["lat"] if lat is None else n["lon"], "pair")
    place: Place | None = None
    place_text = _single(args, n["place"], vocab) or ""
    if len(place_text) > MAX_VALUE_LENGTH:
        raise BadParameter(n["place"], "too_long", max=MAX_VALUE_LENGTH)
    notices: list[str] = []
    if lat is not None and lon is not None:
        place = Place(lat, lon, place_text or "votre position", "position")
    elif place_text:
        found = geocode(place_text) if geocode else None
        if found is None:
            if vocab.strict:
                raise BadParameter(n["place"], "unknown_place")
            notices.append(f"Lieu « {place_text} » introuvable : essayez une commune ou un "
                           "code postal.")
        place = found
    radius = _float(args, n["radius"], vocab, 0.1, MAX_RADIUS_KM)
    if radius is not None and place is None:
        if vocab.strict:
            raise BadParameter(n["radius"], "needs_position", place=n["place"])
        radius = None

    sort_value = _single(args, n["sort"], vocab)
    sort = "distance" if sort_value is None and place is not None else "relevance"
    if sort_value is not None:
        if sort_value not in vocab.sorts:
            raise BadParameter(n["sort"], "not_allowed", allowed=", ".join(vocab.sorts))
        sort = vocab.sorts[sort_value]
    if sort == "distance" and place is None:
        if vocab.strict:
            raise BadParameter(n["sort"], "needs_position", place=n["place"])
        notices.append("Pour trier par distance, indiquez votre position ou un lieu.")
        sort = "relevance"

    page = _int(args, n["page"], vocab, 1, 1, MAX_PAGE)
    per_page = _int(args, n["per_page"], vocab, default_per_page, 1, MAX_PER_PAGE)

    query = SearchQuery(
        text=text,
        kinds=tuple(dict.fromkeys(kinds)) or ("shop", "product"),
        filters=tuple(filters),
        price_min=None if price_min is None else round(price_min * 100),
        price_max=None if price_max is None else round(price_max * 100),
        near=(place.lat, place.lon) if place else None,
        radius_km=radius,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    explicit = bool(text or filters or kinds_asked or place or price_min is not None
                    or price_max is not None)
    return ParsedSearch(query, place, place_text, notices, explicit)


def query_args(parsed: ParsedSearch, vocab: Vocabulary, **changes: Any) -> list[tuple[str, str]]:
    """The query string of ``parsed`` in ``vocab`` (for links), with ``changes`` applied.

    ``changes`` take fields of ``SearchQuery`` (``page=2``, ``sort="distance"``) or
    ``filters`` as a dict key -> values; None removes.
    """
    q = parsed.query
    n = vocab.names
    values: dict[str, Any] = {
        "text": q.text, "kinds": q.kinds, "filters": dict(q.filters),
        "price_min": q.price_min, "price_max": q.price_max, "sort": q.sort, "page": q.page,
        "per_page": q.per_page, "radius_km": q.radius_km,
    }
    values.update(changes)
    out: list[tuple[str, str]] = []
    if values["text"]:
        out.append((n["text"], values["text"]))
    if tuple(values["kinds"] or ()) not in (("shop", "product"), ()):
        out.extend((n["kind"], vocab.kind_value(k)) for k in values["kinds"])
    for key, vals in (values["filters"] or {}).items():
        out.extend((n[key], v) for v in vals)
    for key in ("price_min", "price_max"):
        if values[key] is not None:
            out.append((n[key], _euros(values[key])))
    place = parsed.place
    if place is not None:
        if place.precision == "position":
            out.append((n["lat"], f"{place.lat:.5f}"))
            out.append((n["lon"], f"{place.lon:.5f}"))
        else:
            out.append((n["place"], parsed.place_text))
    if values["radius_km"] is not None:
        out.append((n["radius"], _num(values["radius_km"])))
    default_sort = "distance" if place is not None else "relevance"
    if values["sort"] and values["sort"] != default_sort:
        out.append((n["sort"], vocab.sort_value(values["sort"])))
    if values["per_page"] != DEFAULT_PER_PAGE:
        out.append((n["per_page"], str(values["per_page"])))
    if values["page"] and values["page"] != 1:
        out.append((n["page"], str(values["page"])))
    return out


def _euros(cents: int) -> str:
    return f"{cents // 100}" if cents % 100 == 0 else f"{cents / 100:.2f}"
