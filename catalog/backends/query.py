"""The one search-query parser: request or command-line arguments to a ``SearchQuery``.

The web pages speak French (``?q=pain&plateforme=clickandco&tri=distance``), the
API and the CLI English (``?q=pain&platform=clickandco&sort=distance``): one
parser, one ``Vocabulary`` per surface (``API``, ``CLI`` here; the pages' ``HTML``
lives with them in ``search_ui.params``). Every value is bounded by the constants
below (text length, values per filter, page and page size, coordinates, radius,
prices), which the API's OpenAPI document is generated from; a wrong value raises
``BadParameter`` naming the parameter and why (in English and in French), which
the app turns into a 400 and the CLI into one line. Prices are given in euros
("12,50" or "12.50") and kept in cents. A place typed in (a commune, a postcode,
an address) is turned into coordinates by the ``geocode`` function given.

Arguments are a werkzeug ``MultiDict`` or any mapping of names to a string or a
list of strings.

Example:
    >>> parsed = parse_search({"q": "fromagerie", "commune": "Toulouse", "price_max": "12,50",
    ...                        "lat": "43.6", "lon": "1.44", "page": "2"}, API)
    >>> q = parsed.query
    >>> q.filters, q.price_max, q.near, q.sort, q.page
    ((('commune', ('Toulouse',)),), 1250, (43.6, 1.44), 'distance', 2)
    >>> parse_search({"radius_km": "500", "lat": "43.6", "lon": "1.4"}, API)
    Traceback (most recent call last):
    ...
    catalog.backends.query.BadParameter: parameter 'radius_km' must be between 0.1 and 200
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.backends.base import (
    DEFAULT_KINDS,
    FILTER_KEYS,
    KINDS,
    MAX_FILTER_VALUE_LENGTH,
    MAX_FILTER_VALUES,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    MAX_RADIUS_KM,
    MIN_RADIUS_KM,
    SORTS,
    SearchQuery,
    parse_bucket,
)
from catalog.errors import CatalogError

MAX_PRICE_EUROS = 1_000_000
MAX_NUMBER_LENGTH = 32
DEFAULT_PER_PAGE = 20
MAX_SUGGESTIONS = 20
DEFAULT_SUGGESTIONS = 8
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
    "not_point": ("must be LAT,LON", "doit être de la forme LAT,LON"),
    "empty": ("must not be empty", "ne doit pas être vide"),
    "not_bucket": ("must be a price range in cents, LOW-HIGH",
                   "doit être une tranche de prix en centimes, BAS-HAUT"),
}


class BadParameter(CatalogError, ValueError):
    """A search parameter that is wrong: which one, and why (English and French)."""

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
    """The parameter names and values of one surface (pages, API or CLI)."""

    names: Mapping[str, str]  # field -> parameter name
    kinds: Mapping[str, str]  # value -> kind
    sorts: Mapping[str, str]  # value -> sort
    strict: bool  # unknown or repeated parameters are errors; a place must be found

    def param(self, name: str) -> str:
        return self.names[name]

    def kind_value(self, kind: str) -> str:
        return next((v for v, k in self.kinds.items() if k == kind), kind)

    def sort_value(self, sort: str) -> str:
        return next((v for v, s in self.sorts.items() if s == sort), sort)


_ENGLISH = {"text": "q", "kind": "kind", "platform": "platform", "category": "category",
            "commune": "commune", "service": "service", "flag": "flag",
            "price_min": "price_min", "price_max": "price_max", "lat": "lat", "lon": "lon",
            "radius": "radius_km", "place": "place", "sort": "sort", "page": "page",
            "per_page": "per_page", "as_typed": "as_typed", "territory": "territory"}
API = Vocabulary(names=_ENGLISH, kinds={k: k for k in KINDS}, sorts={s: s for s in SORTS},
                 strict=True)
#: The CLI's ``--filter KEY=VALUE`` keys: the API's, plus ``price`` (a price facet value).
CLI = Vocabulary(names={**_ENGLISH, "price": "price"}, kinds=API.kinds, sorts=API.sorts,
                 strict=True)


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


def getlist(args: Any, name: str) -> list[str]:
    """Every value of ``name`` in ``args`` (a MultiDict, or a mapping of str or lists)."""
    if hasattr(args, "getlist"):
        return [str(v) for v in args.getlist(name)]
    value = args.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _keys(args: Any) -> Iterable[str]:
    return list(args.keys())


def _single(args: Any, name: str, vocab: Vocabulary, limit: int = MAX_FILTER_VALUE_LENGTH,
            *, typed: bool = False) -> str | None:
    """The parameter's one value, cleaned; None when absent (or empty, where the surface
    forgives: a form's empty field). ``typed``: a number or a choice, never empty in a
    strict vocabulary."""
    values = getlist(args, name)
    if not values:
        return None
    if len(values) > 1 and vocab.strict:
        raise BadParameter(name, "repeated")
    if len(values[0]) > limit:
        raise BadParameter(name, "too_long", max=limit)
    value = _CONTROL.sub("", values[0]).strip()
    if not value and typed and vocab.strict:
        raise BadParameter(name, "empty")
    return value or None


def _multi(args: Any, name: str, vocab: Vocabulary | None = None) -> tuple[str, ...]:
    """The parameter's values, cleaned, without repeats; ``vocab`` given: values that are
    choices, never empty in a strict vocabulary."""
    raw = getlist(args, name)
    if len(raw) > MAX_FILTER_VALUES:
        raise BadParameter(name, "too_many", max=MAX_FILTER_VALUES)
    for v in raw:
        if len(v) > MAX_FILTER_VALUE_LENGTH:
            raise BadParameter(name, "too_long", max=MAX_FILTER_VALUE_LENGTH)
    values = [_CONTROL.sub("", v).strip() for v in raw]
    if vocab is not None and vocab.strict and not all(values):
        raise BadParameter(name, "empty")
    return tuple(dict.fromkeys(v for v in values if v))


def parse_int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    """A whole number within [low, high]; ``default`` when absent."""
    if raw is None:
        return default
    if not re.fullmatch(r"[+]?\d{1,9}", raw):
        raise BadParameter(name, "not_integer")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(name, "out_of_range", min=low, max=high)
    return value


def _float(args: Any, name: str, vocab: Vocabulary, low: float, high: float) -> float | None:
    raw = _single(args, name, vocab, MAX_NUMBER_LENGTH, typed=True)
    if raw is None:
        return None
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
                 default_per_page: int = DEFAULT_PER_PAGE,
                 territories: Sequence[str] | None = None) -> ParsedSearch:
    """The search the arguments ask for.

    Args:
        args: a werkzeug ``MultiDict`` (a request's query string) or a mapping.
        vocab: ``API``, ``CLI`` or the pages' ``HTML``.
        geocode: turns a typed place into a ``Place``; None refuses places.
        default_per_page: the page size when none is asked.
        territories: the keys a ``territory`` value must be one of (None: any).

    Returns:
        a ``ParsedSearch``.

    Raises:
        BadParameter: naming the parameter and why.
    """
    n = vocab.names
    if vocab.strict:
        known = set(n.values())
        for key in _keys(args):
            if key not in known:
                raise BadParameter(key, "unknown", known=", ".join(sorted(known)))
    text = _single(args, n["text"], vocab, MAX_QUERY_LENGTH) or ""

    kinds_asked = _multi(args, n["kind"], vocab)
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
        if key == "territory" and territories is not None:
            wrong = [v for v in values if v not in territories]
            if wrong:
                raise BadParameter(n[key], "not_allowed", allowed=", ".join(territories))
        if values:
            filters.append((key, values))

    price_min = _float(args, n["price_min"], vocab, 0, MAX_PRICE_EUROS)
    price_max = _float(args, n["price_max"], vocab, 0, MAX_PRICE_EUROS)
    cents_min = None if price_min is None else round(price_min * 100)
    cents_max = None if price_max is None else round(price_max * 100)
    bucket = _single(args, n["price"], vocab, typed=True) if "price" in n else None
    if bucket is not None:
        try:
            low, high = parse_bucket(bucket)
        except ValueError:
            raise BadParameter(n["price"], "not_bucket") from None
        cents_min = low if cents_min is None else cents_min
        cents_max = high if cents_max is None else cents_max
    if cents_min is not None and cents_max is not None and cents_min > cents_max:
        raise BadParameter(n["price_min"], "above_max", other=n["price_max"])

    lat = _float(args, n["lat"], vocab, -90, 90)
    lon = _float(args, n["lon"], vocab, -180, 180)
    if (lat is None) != (lon is None):
        raise BadParameter(n["lat"] if lat is None else n["lon"], "pair")
    place: Place | None = None
    place_text = _single(args, n["place"], vocab) or ""
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
    radius = _float(args, n["radius"], vocab, MIN_RADIUS_KM, MAX_RADIUS_KM)
    if radius is not None and place is None:
        if vocab.strict:
            raise BadParameter(n["radius"], "needs_position", place=n["place"])
        radius = None

    sort_value = _single(args, n["sort"], vocab, typed=True)
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

    page = parse_int(_single(args, n["page"], vocab, MAX_NUMBER_LENGTH, typed=True), n["page"],
                     1, 1, MAX_PAGE)
    per_page = parse_int(_single(args, n["per_page"], vocab, MAX_NUMBER_LENGTH, typed=True),
                         n["per_page"], default_per_page, 1, MAX_PER_PAGE)
    as_typed = parse_int(_single(args, n["as_typed"], vocab, MAX_NUMBER_LENGTH, typed=True),
                         n["as_typed"], 0, 0, 1) == 1

    query = SearchQuery(
        text=text,
        kinds=tuple(dict.fromkeys(kinds)) or DEFAULT_KINDS,
        filters=tuple(filters),
        price_min=cents_min,
        price_max=cents_max,
        near=(place.lat, place.lon) if place else None,
        radius_km=radius,
        sort=sort,
        page=page,
        per_page=per_page,
        as_typed=as_typed,
    )
    explicit = bool(text or filters or kinds_asked or place or cents_min is not None
                    or cents_max is not None)
    return ParsedSearch(query, place, place_text, notices, explicit)


def parse_suggest(args: Any, vocab: Vocabulary = API, *,
                  territories: Sequence[str] | None = None) -> tuple[str, int, str | None]:
    """(prefix, how many, territory) of a completion request: ``q``, ``limit`` and
    ``territory`` (one of ``territories`` when given)."""
    if vocab.strict:
        for key in _keys(args):
            if key not in ("q", "limit", "territory"):
                raise BadParameter(key, "unknown", known="limit, q, territory")
    text = _single(args, "q", vocab, MAX_QUERY_LENGTH) or ""
    limit = parse_int(_single(args, "limit", vocab, MAX_NUMBER_LENGTH, typed=True), "limit",
                      DEFAULT_SUGGESTIONS, 1, MAX_SUGGESTIONS)
    territory = _single(args, "territory", vocab, typed=True)
    if territory is not None and territories is not None and territory not in territories:
        raise BadParameter("territory", "not_allowed", allowed=", ".join(territories))
    return text, limit, territory


def parse_point(text: str, name: str = "near") -> tuple[str, str]:
    """'43.6,1.44' -> ('43.6', '1.44'), for the CLI's ``--near`` (checked by ``parse_search``)."""
    lat, sep, lon = text.replace(" ", "").partition(",")
    if not sep or not lat or not lon:
        raise BadParameter(name, "not_point")
    return lat, lon


def parse_pairs(pairs: Iterable[str], name: str = "filter") -> dict[str, list[str]]:
    """``KEY=VALUE`` strings (the CLI's ``--filter``) as arguments for ``parse_search``."""
    args: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not sep or not key:
            raise BadParameter(name, "not_allowed", allowed="KEY=VALUE")
        args.setdefault(key, []).append(value)
    return args
