"""The OpenAPI 3.1 document of the JSON API (served at ``/api/openapi.json``).

Every bound a parameter states (lengths, counts, ranges, defaults, allowed values)
is read from the one search parser (``catalog.backends.query``), so that the
document and the 400s cannot disagree; ``tests/search_ui/test_api.py`` runs
Schemathesis against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.backends.base import (
    KINDS,
    MAX_FILTER_VALUE_LENGTH,
    MAX_FILTER_VALUES,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    MAX_RADIUS_KM,
    MIN_RADIUS_KM,
    SORTS,
)
from catalog.backends.query import (
    DEFAULT_PER_PAGE,
    DEFAULT_SUGGESTIONS,
    MAX_PRICE_EUROS,
    MAX_SUGGESTIONS,
)


def _param(name: str, description: str, schema: dict[str, Any], *, many: bool = False,
           required: bool = False, where: str = "query") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": where, "description": description,
                           "required": required}
    if many:
        out["schema"] = {"type": "array", "items": schema, "maxItems": MAX_FILTER_VALUES}
        out["style"], out["explode"] = "form", True
    else:
        out["schema"] = schema
    return out


_TEXT = {"type": "string", "maxLength": MAX_FILTER_VALUE_LENGTH}
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$"}
_ERRORS = {
    "400": {"description": "A parameter is wrong: which one and why.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "414": {"description": "The request line is longer than the server accepts.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "429": {"description": "Too many requests from this client; see Retry-After.",
            "headers": {"Retry-After": {"schema": {"type": "integer"},
                                        "description": "seconds to wait"}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "503": {"description": "The catalog or the search index is unavailable.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _territory_schema(territories: Sequence[str] | None) -> dict[str, Any]:
    if territories:
        return {"type": "string", "enum": list(territories)}
    return _TEXT


def openapi_document(server_url: str = "", territories: Sequence[str] | None = None
                     ) -> dict[str, Any]:
    """The API's description, with ``server_url`` as its server and ``territories`` the
    values ``territory`` takes."""
    search_params = [
        _param("q", "Words to look for (shop names, product titles, brands, categories...).",
               {"type": "string", "maxLength": MAX_QUERY_LENGTH}),
        _param("kind", "Kinds of results (default shop and product).",
               {"type": "string", "enum": list(KINDS)}, many=True),
        _param("platform", "Only entities listed on these platforms (keys of sources.yaml).",
               _TEXT, many=True),
        _param("category", "Only these categories (taxonomy keys, e.g. boulangerie).", _TEXT,
               many=True),
        _param("commune", "Only these communes.", _TEXT, many=True),
        _param("service", "Only with these services (click_collect, delivery, "
               "local_delivery).", _TEXT, many=True),
        _param("flag", "Only entities with these data-quality flags.", _TEXT, many=True),
        _param("territory", "Only entities in these territories (keys of territories.yaml "
               "this instance serves; a shop is in the territory of its address).",
               _territory_schema(territories), many=True),
        _param("price_min", "Lowest price, in euros (products only; keeps shops out; not "
               "above price_max).", {"type": "number", "minimum": 0,
                                     "maximum": MAX_PRICE_EUROS}),
        _param("price_max", "Highest price, in euros.", {"type": "number", "minimum": 0,
                                                         "maximum": MAX_PRICE_EUROS}),
        _param("lat", "Latitude of the shopper (with lon).",
               {"type": "number", "minimum": -90, "maximum": 90}),
        _param("lon", "Longitude of the shopper (with lat).",
               {"type": "number", "minimum": -180, "maximum": 180}),
        _param("place", "A commune, postcode or address of the catalog, instead of lat/lon.",
               _TEXT),
        _param("radius_km", "Only results within this distance of the position (needs lat "
               "and lon, or place).",
               {"type": "number", "minimum": MIN_RADIUS_KM, "maximum": MAX_RADIUS_KM}),
        _param("sort", "Order (distance needs a position; default relevance, or distance "
               "when a position is given).", {"type": "string", "enum": list(SORTS)}),
        _param("page", "Page number.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                        "default": 1}),
        _param("per_page", "Results per page.", {"type": "integer", "minimum": 1,
                                                 "maximum": MAX_PER_PAGE,
                                                 "default": DEFAULT_PER_PAGE}),
        _param("as_typed", "1: search the words exactly as typed, never the correction "
               "the API would otherwise answer for (see corrected_from).",
               {"type": "integer", "enum": [0, 1], "default": 0}),
    ]
    badge = {"type": "object", "required": ["key", "name"], "properties": {
        "key": {"type": "string"}, "name": {"type": "string"},
        "url": {"type": ["string", "null"], "format": "uri",
                "description": "the entity's page on that platform"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Agora search API",
            "version": "1.0.0",
            "description": "One search over the local e-commerce platforms of the territories "
                           "served: merged "
                           "shops and products with every platform carrying them. Read-only; "
                           "rate-limited per client (429 with Retry-After). Prices in cents "
                           "in answers, in euros in parameters.",
        },
        "servers": [{"url": server_url or "/"}],
        "paths": {
            "/api/search": {"get": {
                "operationId": "search", "summary": "Search shops and products",
                "parameters": search_params,
                "responses": {"200": _json("SearchResults", "The page of results, with facets."),
                              **_ERRORS}}},
            "/api/suggest": {"get": {
                "operationId": "suggest", "summary": "Completions for a prefix",
                "parameters": [
                    _param("q", "What has been typed so far.",
                           {"type": "string", "maxLength": MAX_QUERY_LENGTH}),
                    _param("limit", "Suggestions wanted.",
                           {"type": "integer", "minimum": 1, "maximum": MAX_SUGGESTIONS,
                            "default": DEFAULT_SUGGESTIONS}),
                    _param("territory", "Only completions in this territory.",
                           _territory_schema(territories))],
                "responses": {"200": _json("Suggestions", "Suggestions, best first."),
                              **_ERRORS}}},
            "/api/shops/{id}": {"get": {
                "operationId": "getShop", "summary": "A merged shop",
                "parameters": [_param("id", "The shop's entity id.", _ID, required=True,
                                      where="path")],
                "responses": {"200": _json("Shop", "The shop."),
                              "404": _json("Error", "No shop with that id."),
                              "414": _ERRORS["414"], "429": _ERRORS["429"]}}},
            "/api/products/{id}": {"get": {
                "operationId": "getProduct", "summary": "A product (or a shop's item) and "
                                                       "its offers",
                "parameters": [_param("id", "The product's or item's entity id.", _ID,
                                      required=True, where="path")],
                "responses": {"200": _json("Product", "The product."),
                              "404": _json("Error", "No product with that id."),
                              "414": _ERRORS["414"], "429": _ERRORS["429"]}}},
            "/api/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": {"application/json": {}}}}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string", "examples": ["bad_parameter", "not_found",
                                                         "rate_limited"]},
                "message": {"type": "string"},
                "parameter": {"type": "string", "description": "the wrong parameter"},
                "reason": {"type": "string", "description": "why it is wrong"}}},
            "Badge": badge,
            "Hit": {"type": "object", "required": ["id", "kind", "name", "platforms"],
                    "properties": {
                        "id": {"type": "string"}, "kind": {"type": "string",
                                                           "enum": list(KINDS)},
                        "name": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                        "api_url": {"type": "string", "format": "uri"},
                        "score": {"type": "number"},
                        "distance_km": {"type": ["number", "null"]},
                        "platforms": {"type": "array", "items": {"$ref":
                                                                 "#/components/schemas/Badge"}},
                        "commune": {"type": ["string", "null"]},
                        "postcode": {"type": ["string", "null"]},
                        "services": {"type": "array", "items": {"type": "string"}},
                        "categories": {"type": "array", "items": {"type": "string"}},
                        "price_min": {"type": ["integer", "null"], "description": "cents"},
                        "price_max": {"type": ["integer", "null"], "description": "cents"},
                        "currency": {"type": "string"},
                        "shop": {"type": ["object", "null"]},
                        "lat": {"type": ["number", "null"]}, "lon": {"type": ["number", "null"]},
                        "highlights": {"type": "object", "additionalProperties": {
                            "type": "string", "description": "escaped HTML with <mark>"}}}},
            "FacetValue": {"type": "object", "properties": {
                "value": {"type": "string"}, "label": {"type": "string"},
                "count": {"type": "integer"}}},
            "SearchResults": {"type": "object",
                              "required": ["query", "total", "page", "pages", "hits", "facets"],
                              "properties": {
                                  "query": {"type": "object"},
                                  "total": {"type": "integer"}, "page": {"type": "integer"},
                                  "pages": {"type": "integer"},
                                  "hits": {"type": "array",
                                           "items": {"$ref": "#/components/schemas/Hit"}},
                                  "facets": {"type": "object", "additionalProperties": {
                                      "type": "array",
                                      "items": {"$ref": "#/components/schemas/FacetValue"}}},
                                  "suggestion": {"type": ["string", "null"],
                                                 "description": "did you mean"},
                                  "corrected_from": {
                                      "type": ["string", "null"],
                                      "description": "set when the hits are those of "
                                      "suggestion, the text as typed (q) having found fewer "
                                      "or weaker ones; as_typed=1 asks for the text as "
                                      "typed"},
                                  "facets_approximate": {
                                      "type": "boolean",
                                      "description": "the facet counts were estimated on a "
                                      "sample, the query having passed its time budget"},
                                  "took_ms": {"type": "number"}}},
            "Suggestions": {"type": "object", "properties": {
                "q": {"type": "string"},
                "suggestions": {"type": "array", "items": {"type": "object", "properties": {
                    "text": {"type": "string"}, "kind": {"type": "string"},
                    "id": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]}}}}}},
            "Shop": {"type": "object", "required": ["id", "name", "platforms", "listings"],
                     "properties": {
                         "id": {"type": "string"}, "name": {"type": "string"},
                         "address": {"type": ["string", "null"]},
                         "postcode": {"type": ["string", "null"]},
                         "commune": {"type": ["string", "null"]},
                         "phones": {"type": "array", "items": {"type": "string"}},
                         "opening_hours": {"type": ["string", "null"]},
                         "services": {"type": "array", "items": {"type": "string"}},
                         "platforms": {"type": "array",
                                       "items": {"$ref": "#/components/schemas/Badge"}},
                         "listings": {"type": "array", "items": {"type": "object"}},
                         "conflicts": {"type": "object", "description":
                                       "field -> values the platforms disagree on, each with "
                                       "the platforms giving it"},
                         "items": {"type": "array", "items": {"type": "object"}}}},
            "Product": {"type": "object", "required": ["id", "title", "offers"], "properties": {
                "id": {"type": "string"}, "kind": {"type": "string"},
                "title": {"type": "string"}, "brand": {"type": ["string", "null"]},
                "gtin": {"type": ["string", "null"]},
                "price_min": {"type": ["integer", "null"]},
                "price_max": {"type": ["integer", "null"]},
                "platforms": {"type": "array", "items": {"$ref": "#/components/schemas/Badge"}},
                "offers": {"type": "array", "items": {"type": "object", "properties": {
                    "offer_id": {"type": "string"}, "shop": {"type": ["object", "null"]},
                    "platform": {"type": "string"}, "url": {"type": ["string", "null"]},
                    "price_cents": {"type": ["integer", "null"]},
                    "availability": {"type": ["string", "null"]}}}}}},
        }},
    }
