"""The shopper's search pages: ``/`` (search, facets, sort, pages) and ``/pres-de-moi``.

Both read the query string in French (``search_ui.params.HTML``), ask the search
backend, and render. With nothing asked, ``/`` shows the box and what can be
browsed (categories and platforms with their counts); with nothing found, it
says so, offers the backend's "vouliez-vous dire" and ways to widen the search.
When the backend answered for the words the shopper meant rather than the words
typed, the page says « Résultats pour … ; rechercher plutôt … » with a link to the
text as typed (``tel_quel=1``); when facet counts were estimated (the query passed
its time budget), they show with « ≈ ».
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, request, url_for

from catalog.backends.base import MAX_PAGE, MAX_QUERY_LENGTH, SearchQuery, SearchResults
from search_ui import present, territory
from search_ui.context import build_key, get_backend, get_catalog, platforms
from search_ui.geo import Gazetteer
from search_ui.params import HTML, ParsedSearch, Place, parse_search, query_args

search_bp = Blueprint("search", __name__)

FACET_ORDER = ("kind", "platform", "category", "commune", "service", "price")
FACET_LIMIT = 12
SORT_CHOICES = (("pertinence", "Pertinence"), ("distance", "Distance"),
                ("prix", "Prix croissant"), ("prix_desc", "Prix décroissant"))
RADII = (1, 2, 5, 10, 20, 50)


def gazetteer() -> Gazetteer:
    """The place finder of the current build (built once per build and process)."""
    key = build_key()
    cache: dict[Any, Gazetteer] = current_app.extensions.setdefault("agora_gazetteer", {})
    found = cache.get(key)
    if found is None:
        found = Gazetteer.from_shops(  # the places of this app's territory
            row for row in get_catalog().entities.shop_places()
            if territory.in_scope(row[1], row[3], row[4]))
        cache.clear()
        cache[key] = found
    return found


def find_place(text: str) -> Place | None:
    return gazetteer().find(text)


def search_href(parsed: ParsedSearch, **changes: Any) -> str:
    args = query_args(parsed, HTML, **changes)
    return url_for("search.index") + ("?" + urlencode(args) if args else "")


def _param(name: str, value: str) -> dict[str, Any]:
    """One query parameter, as ``url_for``'s keyword arguments."""
    return {name: value}


def facet_views(parsed: ParsedSearch, results: SearchResults) -> list[dict[str, Any]]:
    """Each facet with its values: label, count, whether chosen, the link toggling it."""
    chosen = dict(parsed.query.filters)
    table = platforms()
    views = []
    for key in FACET_ORDER:
        if key == "price":
            buckets = []
            for value, count in results.facets.get("price", []):
                bucket = present.price_bucket(value)
                if bucket is None or not count:
                    continue
                low, high = bucket
                on = (parsed.query.price_min, parsed.query.price_max) == (low, high)
                buckets.append({"value": value, "label": present.price_bucket_label(value),
                                "count": count, "selected": on,
                                "href": search_href(parsed, page=1,
                                                    price_min=None if on else low,
                                                    price_max=None if on else high)})
            views.append({"key": key, "param": "prix", "title": present.FACET_TITLES[key],
                          "values": buckets, "price": True})
            continue
        if key == "kind":
            selected_kinds = set(parsed.query.kinds)
            values = []
            for value, count in results.facets.get("kind", []):
                values.append({"value": HTML.kind_value(value),
                               "label": present.KIND_PLURALS.get(value, value),
                               "count": count,
                               "selected": selected_kinds != {"shop", "product"}
                               and value in selected_kinds})
            views.append({"key": key, "param": HTML.param("kind"),
                          "title": present.FACET_TITLES[key], "values": values})
            continue
        pairs = list(results.facets.get(key, []))
        selected = list(chosen.get(key, ()))
        seen = {v for v, _ in pairs}
        pairs += [(v, 0) for v in selected if v not in seen]
        shown = [p for p in pairs[:FACET_LIMIT]] + [p for p in pairs[FACET_LIMIT:]
                                                    if p[0] in selected]
        values = [{"value": v, "label": present.facet_value_label(key, v, table), "count": c,
                   "selected": v in selected} for v, c in shown]
        if values:
            views.append({"key": key, "param": HTML.param(key),
                          "title": present.FACET_TITLES[key], "values": values,
                          "more": max(0, len(pairs) - len(shown))})
    return views


def pagination(parsed: ParsedSearch, results: SearchResults) -> dict[str, Any] | None:
    pages = min(results.pages, MAX_PAGE)
    page = parsed.query.page
    if pages <= 1 and page == 1:
        return None
    window = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    items: list[dict[str, Any]] = []
    previous = 0
    for n in window:
        if n - previous > 1:
            items.append({"gap": True})
        items.append({"n": n, "href": search_href(parsed, page=n), "current": n == page})
        previous = n
    return {"page": page, "pages": pages, "items": items,
            "prev": search_href(parsed, page=page - 1) if page > 1 else None,
            "next": search_href(parsed, page=page + 1) if page < pages else None}


def chosen_filters(parsed: ParsedSearch) -> list[dict[str, str]]:
    """The filters in force, each with the link removing it."""
    out = []
    filters = dict(parsed.query.filters)
    for key, values in filters.items():
        for v in values:
            rest = {k: tuple(x for x in vs if not (k == key and x == v))
                    for k, vs in filters.items()}
            out.append({"label": f"{present.FACET_TITLES.get(key, key)} : "
                                 f"{present.facet_value_label(key, v)}",
                        "href": search_href(parsed, page=1,
                                            filters={k: vs for k, vs in rest.items() if vs})})
    q = parsed.query
    if q.price_min is not None or q.price_max is not None:
        out.append({"label": "Prix : " + present.price_limits_label(q.price_min, q.price_max),
            "href": search_href(parsed, page=1, price_min=None, price_max=None)})
    if q.radius_km is not None:
        out.append({"label": f"Rayon : {present.distance(q.radius_km)}",
                    "href": search_href(parsed, page=1, radius_km=None)})
    return out


@search_bp.get("/")
def index() -> str:
    """Search: the box, facets, results, sort and pages."""
    parsed = parse_search(request.args, HTML, geocode=find_place)
    backend = get_backend()
    results: SearchResults | None = None
    landing: SearchResults | None = None
    if parsed.explicit:
        results = backend.search(parsed.query)
    else:
        landing = backend.search(SearchQuery(per_page=1, highlight=False,
                                             facets=("kind", "category", "platform")))
    hits = present.with_details(present.hit_views(results.hits)) if results else []
    context: dict[str, Any] = {
        "parsed": parsed, "q": parsed.query, "results": results, "landing": landing,
        "hits": hits, "facets": facet_views(parsed, results) if results else [],
        "pagination": pagination(parsed, results) if results else None,
        "chosen": chosen_filters(parsed), "sort_choices": SORT_CHOICES,
        "sort_value": HTML.sort_value(parsed.query.sort), "max_query": MAX_QUERY_LENGTH,
        "radii": RADII, "suggestion_href": None, "as_typed_href": None,
        "clear_href": url_for("search.index", q=parsed.query.text) if parsed.query.text
        else url_for("search.index"),
    }
    if results is not None and results.suggestion:
        context["suggestion_href"] = search_href(parsed, text=results.suggestion, page=1,
                                                 as_typed=False)
    if results is not None and results.corrected_from:
        context["as_typed_href"] = search_href(parsed, text=results.corrected_from, page=1,
                                               as_typed=True)
    if landing is not None:
        context["browse"] = {
            key: [{"value": v, "label": present.facet_value_label(key, v), "count": c,
                   "href": url_for("search.index", **_param(HTML.param(key), v))}
                  for v, c in landing.facets.get(key, [])]
            for key in ("category", "platform")}
        context["browse_total"] = landing.total
    return render_template("search/index.html", **context)


search_bp.add_url_rule("/territoires", "territories", territory.chooser)


@search_bp.get("/pres-de-moi")
def near() -> str:
    """Near me: the device's position (with the shopper's consent) or a place typed in."""
    return render_template("search/near.html", communes=gazetteer().commune_names()[:300],
                           radii=RADII, max_query=MAX_QUERY_LENGTH,
                           place=request.args.get("lieu", "")[:100])
