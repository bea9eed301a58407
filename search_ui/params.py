"""The pages' vocabulary of the one search parser, and links back to a search.

The parser, its bounds and the API's vocabulary live in ``catalog.backends.query``
(the API and the CLI use them too). The pages speak French
(``?q=pain&plateforme=clickandco&tri=distance``) and forgive: an unknown
parameter is ignored, a place not found becomes a notice. ``query_args`` writes a
parsed search back as a query string in either vocabulary, with changes, for
the links of facets, pages and sorts.
"""

from __future__ import annotations

from typing import Any

from catalog.backends.query import (
    API,
    DEFAULT_PER_PAGE,
    BadParameter,
    ParsedSearch,
    Place,
    Vocabulary,
    parse_search,
)

__all__ = ["API", "HTML", "BadParameter", "ParsedSearch", "Place", "parse_search",
           "query_args"]

HTML = Vocabulary(
    names={"text": "q", "kind": "type", "platform": "plateforme", "category": "categorie",
           "commune": "commune", "service": "service", "flag": "signal",
           "price_min": "prix_min", "price_max": "prix_max", "lat": "lat", "lon": "lon",
           "radius": "rayon", "place": "lieu", "sort": "tri", "page": "page",
           "per_page": "par_page", "as_typed": "tel_quel"},
    kinds={"boutique": "shop", "produit": "product", "offre": "offer"},
    sorts={"pertinence": "relevance", "distance": "distance", "prix": "price_asc",
           "prix_desc": "price_desc"},
    strict=False,
)


def query_args(parsed: ParsedSearch, vocab: Vocabulary, **changes: Any) -> list[tuple[str, str]]:
    """The query string of ``parsed`` in ``vocab`` (for links), with ``changes`` applied.

    ``changes`` take fields of ``SearchQuery`` (``page=2``, ``sort="distance"``,
    ``as_typed=True``) or ``filters`` as a dict key -> values; None removes.
    """
    q = parsed.query
    n = vocab.names
    values: dict[str, Any] = {
        "text": q.text, "kinds": q.kinds, "filters": dict(q.filters),
        "price_min": q.price_min, "price_max": q.price_max, "sort": q.sort, "page": q.page,
        "per_page": q.per_page, "radius_km": q.radius_km, "as_typed": q.as_typed,
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
    if values["as_typed"] and values["text"]:
        out.append((n["as_typed"], "1"))
    return out


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _euros(cents: int) -> str:
    return f"{cents // 100}" if cents % 100 == 0 else f"{cents / 100:.2f}"
