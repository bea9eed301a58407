"""The JSON API and its OpenAPI document, on a replica world built by the real pipeline."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from catalog.backends.base import (
    MAX_FILTER_VALUE_LENGTH,
    MAX_FILTER_VALUES,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    MAX_RADIUS_KM,
    MIN_RADIUS_KM,
)
from catalog.backends.query import MAX_PRICE_EUROS, MAX_SUGGESTIONS
from search_ui.params import API
from tests.search_ui.helpers import CONFLICT_NAME, XSS_NAME, World

CONTRACT_EXAMPLES = 40  # per operation and mode: a bounded, repeatable run


def get(client: FlaskClient, url: str, status: int = 200) -> Any:
    r = client.get(url)
    assert r.status_code == status, (url, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/json"
    return r.json


def test_search_answers_hits_facets_and_pages(client: FlaskClient) -> None:
    data = get(client, "/api/search?q=fromagerie&per_page=5")
    assert data["total"] > 5 and data["page"] == 1 and data["pages"] >= 2
    assert len(data["hits"]) == 5
    hit = data["hits"][0]
    assert {"id", "kind", "name", "url", "api_url", "platforms", "commune", "services",
            "price_min", "price_max", "distance_km"} <= set(hit)
    assert hit["url"].startswith("http://localhost/")
    assert all({"key", "name", "url"} <= set(b) for b in hit["platforms"])
    assert set(data["facets"]) >= {"kind", "platform", "category", "commune", "service"}
    value = data["facets"]["platform"][0]
    assert {"value", "label", "count"} == set(value)


def test_filters_and_kinds(client: FlaskClient) -> None:
    data = get(client, "/api/search?kind=shop&platform=geolocal31&per_page=100")
    assert data["hits"] and all(h["kind"] == "shop" for h in data["hits"])
    assert all(any(b["key"] == "geolocal31" for b in h["platforms"]) for h in data["hits"])
    data = get(client, "/api/search?kind=product&price_max=5")
    assert all(h["price_min"] is None or h["price_min"] <= 500 for h in data["hits"])


def test_distance_sort_and_radius(client: FlaskClient) -> None:
    data = get(client, "/api/search?kind=shop&lat=43.6045&lon=1.442&radius_km=2&per_page=50")
    assert data["query"]["sort"] == "distance"
    distances = [h["distance_km"] for h in data["hits"]]
    assert distances and distances == sorted(distances) and max(distances) <= 2.0
    named = get(client, "/api/search?kind=shop&place=Toulouse&sort=distance")
    assert named["query"]["near"]["label"] == "Toulouse"
    assert named["query"]["near"]["precision"] in ("commune", "postcode")


def test_price_sorts(client: FlaskClient) -> None:
    up = get(client, "/api/search?kind=product&sort=price_asc&per_page=30")["hits"]
    prices = [h["price_min"] for h in up if h["price_min"] is not None]
    assert prices == sorted(prices)
    down = get(client, "/api/search?kind=product&sort=price_desc&per_page=30")["hits"]
    prices = [h["price_max"] for h in down if h["price_max"] is not None]
    assert prices == sorted(prices, reverse=True)


def test_suggestion_when_misspelt(client: FlaskClient) -> None:
    assert get(client, "/api/search?q=fromgerie")["suggestion"] == "fromagerie"


@pytest.mark.parametrize(("query", "parameter"), [
    ("q=" + "a" * 201, "q"), ("per_page=101", "per_page"), ("per_page=-1", "per_page"),
    ("page=501", "page"), ("page=x", "page"), ("lat=43.6", "lon"), ("lat=100&lon=1", "lat"),
    ("sort=distance", "sort"), ("sort=random", "sort"), ("radius_km=3", "radius_km"),
    ("kind=shops", "kind"), ("price_min=30&price_max=10", "price_min"),
    ("place=Atlantis", "place"), ("foo=bar", "foo"), ("q=a&q=b", "q"),
    ("radius_km=0&lat=43.6&lon=1.4", "radius_km"),
    ("sort=", "sort"), ("page=", "page"), ("kind=", "kind"), ("lat=&lon=", "lat"),
    ("as_typed=", "as_typed"), ("as_typed=2", "as_typed"),
])
def test_bad_parameters_are_400_saying_which_and_why(client: FlaskClient, query: str,
                                                     parameter: str) -> None:
    data = get(client, f"/api/search?{query}", 400)
    assert data["error"] == "bad_parameter" and data["parameter"] == parameter
    assert data["reason"] and parameter in data["message"]


def test_suggest(client: FlaskClient) -> None:
    data = get(client, "/api/suggest?q=from&limit=3")
    assert data["q"] == "from" and 1 <= len(data["suggestions"]) <= 3
    s = data["suggestions"][0]
    assert {"text", "kind", "id", "url"} == set(s) and s["text"].lower().startswith("from")
    assert s["url"].startswith("/boutiques/") or s["url"].startswith("/produits/")
    assert get(client, "/api/suggest?q=")["suggestions"] == []


@pytest.mark.parametrize(("query", "parameter"), [
    ("limit=0&q=a", "limit"), ("limit=21&q=a", "limit"), ("limit=x&q=a", "limit"),
    ("q=" + "b" * 201, "q"), ("q=a&x=1", "x")])
def test_suggest_bad_parameters(client: FlaskClient, query: str, parameter: str) -> None:
    assert get(client, f"/api/suggest?{query}", 400)["parameter"] == parameter


def test_shop(client: FlaskClient, world: World) -> None:
    shop = get(client, f"/api/shops/{world.conflict_shop}")
    assert shop["name"] == CONFLICT_NAME and shop["commune"] == "Toulouse"
    assert [b["key"] for b in shop["platforms"]] == ["tout_toulouse", "dansmazone"]
    assert {li["url"] for li in shop["listings"]} == {
        "https://toutoulouse.example/boutique/conflict-a",
        "https://dansmazone.example/commerce/conflict-b"}
    assert set(shop["phones"]) == {"+33561112233", "+33562998877"}
    assert {c["value"] for c in shop["conflicts"]["phone"]} == set(shop["phones"])
    assert shop["url"].endswith(f"/boutiques/{world.conflict_shop}")


def test_shop_with_items(client: FlaskClient, world: World) -> None:
    shop = get(client, f"/api/shops/{world.multi_platform_shop}")
    assert shop["items_total"] >= 2 and len(shop["items"]) == shop["items_total"]
    assert all(i["url"].startswith("http://localhost/produits/") for i in shop["items"])


def test_product(client: FlaskClient, world: World) -> None:
    product = get(client, f"/api/products/{world.product}")
    assert product["kind"] == "product" and len(product["offers"]) >= 2
    prices = [o["price_cents"] for o in product["offers"]]
    assert prices == sorted(prices)
    assert product["price_min"] == prices[0] and product["price_max"] == prices[-1]
    assert all(o["shop"]["id"] and o["platform"] for o in product["offers"])


def test_item_of_a_shop(client: FlaskClient, world: World) -> None:
    item = get(client, f"/api/products/{world.xss_item}")
    assert item["kind"] == "offer" and item["offers"][0]["price_cents"] == 990
    assert item["shop_id"] == world.xss_shop


@pytest.mark.parametrize("url", ["/api/shops/shop-000", "/api/products/product-000",
                                 "/api/shops/bad%20id", "/api/products/" + "p" * 150])
def test_not_found_is_json(client: FlaskClient, url: str) -> None:
    assert get(client, url, 404)["error"] == "not_found"


def test_kind_mismatch_is_404(client: FlaskClient, world: World) -> None:
    get(client, f"/api/shops/{world.product}", 404)
    get(client, f"/api/products/{world.conflict_shop}", 404)


def test_json_carries_scraped_text_as_data(client: FlaskClient, world: World) -> None:
    shop = get(client, f"/api/shops/{world.xss_shop}")
    assert shop["name"] == XSS_NAME  # data, not markup: JSON consumers escape
    assert shop["listings"][0]["url"] is None  # the javascript: URL is never given as a link
    r = client.get(f"/api/shops/{world.xss_shop}")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.mimetype == "application/json"


def test_openapi_document(client: FlaskClient, app: Flask) -> None:
    doc = get(client, "/api/openapi.json")
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/api/search", "/api/suggest", "/api/shops/{id}",
                                 "/api/products/{id}", "/api/openapi.json"}
    # every route of the API blueprint is described, with the parameters it accepts
    rules = {r.rule.replace("<entity_id>", "{id}") for r in app.url_map.iter_rules()
             if r.endpoint.startswith("api.")}
    assert rules == set(doc["paths"])
    documented = {p["name"] for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert documented == set(API.names.values())
    schemas = doc["components"]["schemas"]
    for path in doc["paths"].values():
        for response in path["get"]["responses"].values():
            for content in response.get("content", {}).values():
                ref = content.get("schema", {}).get("$ref")
                if ref:
                    assert ref.rsplit("/", 1)[1] in schemas
    assert "400" in doc["paths"]["/api/search"]["get"]["responses"]
    assert "429" in doc["paths"]["/api/search"]["get"]["responses"]
    assert all("414" in path["get"]["responses"] for key, path in doc["paths"].items()
               if key != "/api/openapi.json")


def test_openapi_bounds_are_the_parsers(client: FlaskClient) -> None:
    """The document states the bounds the parser enforces (the CLI's and the pages' too)."""
    doc = get(client, "/api/openapi.json")
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert params["q"]["maxLength"] == MAX_QUERY_LENGTH
    assert (params["radius_km"]["minimum"], params["radius_km"]["maximum"]) == (
        MIN_RADIUS_KM, MAX_RADIUS_KM)
    assert params["platform"]["maxItems"] == MAX_FILTER_VALUES
    assert params["platform"]["items"]["maxLength"] == MAX_FILTER_VALUE_LENGTH
    assert (params["page"]["maximum"], params["per_page"]["maximum"]) == (MAX_PAGE,
                                                                          MAX_PER_PAGE)
    assert params["price_max"]["maximum"] == MAX_PRICE_EUROS
    suggest = {p["name"]: p["schema"] for p in doc["paths"]["/api/suggest"]["get"]["parameters"]}
    assert (suggest["limit"]["maximum"], suggest["q"]["maxLength"]) == (MAX_SUGGESTIONS,
                                                                        MAX_QUERY_LENGTH)
    # and the parser refuses just past them, accepts at them
    assert get(client, f"/api/search?lat=43.6&lon=1.44&radius_km={MAX_RADIUS_KM}")["total"] >= 0
    get(client, f"/api/search?lat=43.6&lon=1.44&radius_km={MAX_RADIUS_KM + 0.1}", 400)
    get(client, "/api/search?" + "&".join(f"platform=p{i}" for i in range(MAX_FILTER_VALUES)))
    get(client, "/api/search?" + "&".join(f"platform=p{i}"
                                          for i in range(MAX_FILTER_VALUES + 1)), 400)
    get(client, "/api/suggest?q=" + " " * (MAX_QUERY_LENGTH + 1), 400)
    get(client, "/api/suggest?q=fro&limit=", 400)


# --------------------------------------------------------------------------- the contract
OPERATIONS = ("GET /api/search", "GET /api/suggest", "GET /api/shops/{id}",
              "GET /api/products/{id}")


def consistent(query: dict[str, Any]) -> bool:
    """Whether a query keeps the rules the document states between parameters: lat and
    lon together; radius_km and sort=distance with a position; price_min ≤ price_max."""
    if ("lat" in query) != ("lon" in query):
        return False
    located = "lat" in query or "place" in query
    if ("radius_km" in query or query.get("sort") == "distance") and not located:
        return False
    low, high = query.get("price_min"), query.get("price_max")
    return low is None or high is None or float(low) <= float(high)


def known_place(case: Any) -> Any:
    """A generated place replaced by a commune of the catalog (any other is a 400)."""
    if case.query and "place" in case.query:
        case.query["place"] = "Toulouse"
    return case


@pytest.fixture(scope="module")
def api_schema(app: Flask) -> Any:
    """The API's own OpenAPI document, loaded by Schemathesis from the app in process."""
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_keeps_its_openapi_contract(api_schema: Any, label: str,
                                            mode: GenerationMode) -> None:
    """Schemathesis (the field's OpenAPI tester) sends requests valid (positive) and invalid
    (negative) for the document: no 500, every answer's status, headers and body as
    documented, invalid requests refused and valid ones accepted."""
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:  # the rules between parameters, stated in prose
        cases = cases.map(known_place).filter(lambda case: consistent(case.query or {}))

    @given(case=cases)
    @settings(max_examples=CONTRACT_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        case.call_and_validate()

    check()
