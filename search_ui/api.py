"""The JSON API: ``/api/search``, ``/api/suggest``, ``/api/shops/<id>``, ``/api/products/<id>``,
described by ``/api/openapi.json``.

Parameters are the English vocabulary of the one search parser
(``catalog.backends.query.API``, whose bounds the OpenAPI document states); a wrong one
gets a 400 ``{"error": "bad_parameter", "parameter": ..., "reason": ..., "message": ...}``.
Below a territory (``/t/<key>/api/``), ``/api/shops/<id>`` and ``/api/products/<id>``
keep to it as the pages do (``search_ui.entities``): an entity of another served
territory redirects (302) to the same URL there, a product lists the territory's
offers and counts the others' in ``offers_elsewhere`` ({territory: count}).
Every request spends a token of its client's bucket (``search_ui.ratelimit``);
without one it gets a 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as AnyResponse

from catalog.backends.query import API, parse_search, parse_suggest
from search_ui import present, territory
from search_ui.context import get_backend, platforms
from search_ui.entities import (
    MAX_SHOP_ITEMS,
    listings_view,
    load_entities,
    load_entity,
    misplaced,
    offer_rows,
    product_offers,
)
from search_ui.errors import error_response
from search_ui.openapi import openapi_document
from search_ui.search import find_place

api_bp = Blueprint("api", __name__)


@api_bp.after_request
def api_headers(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-cache")
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, read-only data
    return response


# --------------------------------------------------------------------------- search
@api_bp.get("/search")
def search() -> Response:
    """Shops and products matching the query, with facets."""

    parsed = parse_search(request.args, API, geocode=find_place,
                          territories=territory.allowed_keys())
    results = get_backend().search(parsed.query)
    q = parsed.query
    table = platforms()
    return jsonify({
        "query": {
            "q": q.text, "kind": list(q.kinds), "filters": {k: list(v) for k, v in q.filters},
            "price_min": q.price_min, "price_max": q.price_max,
            "near": None if parsed.place is None else {
                "lat": parsed.place.lat, "lon": parsed.place.lon, "label": parsed.place.label,
                "precision": parsed.place.precision},
            "radius_km": q.radius_km, "sort": q.sort, "page": q.page, "per_page": q.per_page,
        },
        "total": results.total,
        "page": q.page,
        "pages": results.pages,
        "hits": _hits_json(results.hits),
        "facets": {key: [{"value": v, "label": present.facet_value_label(key, v, table),
                          "count": c} for v, c in values]
                   for key, values in results.facets.items()},
        "suggestion": results.suggestion,
        "corrected_from": results.corrected_from,
        "facets_approximate": results.approximate,
        "took_ms": round(results.took_ms, 2),
    })


def _hits_json(hits: list[Any]) -> list[dict[str, Any]]:
    page = present.entity_href_maker(external=True)
    api = present.entity_href_maker(external=True, api=True)
    return [_hit_json(view, page, api) for view in present.hit_views(hits)]


def _hit_json(view: dict[str, Any], page: Callable[[str, str], str],
              api: Callable[[str, str], str]) -> dict[str, Any]:
    return {
        "id": view["id"], "kind": view["kind"], "name": view["name"],
        "url": page(view["id"], view["kind"]),
        "api_url": api(view["id"], view["kind"]),
        "score": view["score"], "distance_km": view["distance_km"],
        "platforms": view["platforms"], "commune": view["commune"],
        "postcode": view["postcode"], "services": view["services"],
        "categories": view["categories"], "price_min": view["price_min"],
        "price_max": view["price_max"], "currency": view["currency"],
        "shop": None if not view["shop_id"] else {"id": view["shop_id"],
                                                   "name": view["shop_name"]},
        "lat": view["lat"], "lon": view["lon"],
        "highlights": {k: str(v) for k, v in view["highlights"].items()},
    }


@api_bp.get("/suggest")
def suggest() -> Response:
    """Completions for what is being typed."""

    text, limit, where = parse_suggest(request.args, API, territories=territory.allowed_keys())
    suggestions = get_backend().suggest(text, limit, where) if text else []
    out = []
    for s in suggestions[:limit]:
        href = None
        if s.entity_id and s.kind in ("shop", "product", "offer"):
            href = url_for("entities.shop" if s.kind == "shop" else "entities.product",
                           entity_id=s.entity_id)
        out.append({"text": s.text, "kind": s.kind, "id": s.entity_id, "url": href})
    return jsonify({"q": text, "suggestions": out})


# --------------------------------------------------------------------------- entities
def _not_found(kind: str, entity_id: str) -> Response:
    return error_response(404, "not_found", f"no {kind} with id {entity_id!r}")


@api_bp.get("/shops/<entity_id>")
def shop(entity_id: str) -> AnyResponse:
    """A merged shop with its listings, conflicts and items."""
    doc = load_entity(entity_id)
    if doc is None or doc.get("kind") != "shop":
        return _not_found("shop", entity_id)
    try:
        target = misplaced(doc)
    except NotFound:
        return _not_found("shop", entity_id)
    if target is not None:
        return redirect(target)
    items = load_entities(list(doc.get("offer_ids") or [])[:MAX_SHOP_ITEMS])
    return jsonify({
        "id": doc["entity_id"], "kind": "shop", "name": present.title(doc),
        "url": url_for("entities.shop", entity_id=doc["entity_id"], _external=True),
        "address": doc.get("address"), "postcode": doc.get("postcode"),
        "commune": doc.get("city"), "lat": doc.get("lat"), "lon": doc.get("lon"),
        "phone": doc.get("phone"), "phones": doc.get("phones") or [],
        "email": doc.get("email"), "website": doc.get("website"), "siret": doc.get("siret"),
        "opening_hours": doc.get("opening_hours"), "categories": doc.get("categories") or [],
        "services": present.services_of(doc),
        "services_by_source": doc.get("services_by_source") or {},
        "description": doc.get("description"),
        "platforms": present.badges(doc),
        "listings": [{k: v for k, v in s.items() if k != "rank"} for s in listings_view(doc)],
        "conflicts": doc.get("conflicts") or {},
        "items": [{"id": o["entity_id"], "title": present.title(o), "brand": o.get("brand"),
                   "price_min": o.get("price_min"), "price_max": o.get("price_max"),
                   "currency": o.get("currency") or "EUR",
                   "platforms": [b["key"] for b in present.badges(o)],
                   "product_id": o.get("product_entity_id") or o.get("product_id"),
                   "url": url_for("entities.product", entity_id=o["entity_id"],
                                  _external=True)} for o in items],
        "items_total": len(doc.get("offer_ids") or []),
    })


@api_bp.get("/products/<entity_id>")
def product(entity_id: str) -> AnyResponse:
    """A product (or one shop's item) with its offers per shop and platform."""
    doc = load_entity(entity_id)
    if doc is None or doc.get("kind") not in ("product", "offer"):
        return _not_found("product", entity_id)
    try:
        offers, away = product_offers(doc)
    except NotFound:
        return _not_found("product", entity_id)
    if offers is None:
        return redirect(str(away))
    rows = offer_rows(offers)
    return jsonify({
        "id": doc["entity_id"], "kind": doc["kind"], "title": present.title(doc),
        "url": url_for("entities.product", entity_id=doc["entity_id"], _external=True),
        "brand": doc.get("brand"), "gtin": doc.get("gtin"), "category": doc.get("category"),
        "price_min": doc.get("price_min"), "price_max": doc.get("price_max"),
        "currency": doc.get("currency") or "EUR", "platforms": present.badges(doc),
        "product_id": doc.get("product_entity_id"), "shop_id": doc.get("shop_entity_id"),
        "offers": [{"offer_id": r["offer_id"], "shop": None if not r["shop_id"] else {
            "id": r["shop_id"], "name": r["shop_name"], "commune": r["commune"]},
            "platform": r["platform"], "platform_name": r["platform_name"], "url": r["url"],
            "price_cents": r["price_cents"], "availability": r["availability"]}
            for r in rows],
        "offers_total": len(doc.get("offer_ids") or []) if doc["kind"] == "product" else 1,
        "offers_elsewhere": {a["key"]: a["count"] for a in away},
    })


@api_bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document(request.host_url.rstrip("/") + request.script_root,
                                    territory.allowed_keys()))
