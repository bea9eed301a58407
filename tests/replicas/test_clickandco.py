"""The Click'n Co replica: cursor-paged JSON API, rate limit, truth and public pages."""

from __future__ import annotations

import email.utils
import time
from collections import Counter
from typing import Any

import pytest
from werkzeug.test import Client

from replicas.faults import FaultProfile
from replicas.noise import format_price_dot, hours_osm
from replicas.platforms.clickandco import (
    MAX_LIMIT,
    ClickAndCo,
    decode_cursor,
    encode_cursor,
    hours_entries,
)
from replicas.world import HOURS_TEMPLATES, World

SEED, SHOPS = 11, 120


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(SEED, SHOPS)


@pytest.fixture
def platform(world: World) -> ClickAndCo:
    return ClickAndCo(world, rate_limit=0)


def walk(client: Client, path: str, limit: int = MAX_LIMIT) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert set(body) == {"data", "next_cursor"}
        items.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_cursor_round_trip_and_helpers() -> None:
    assert decode_cursor(encode_cursor("shp_0a1b~")) == "shp_0a1b~"
    for wrong in ("%%%", encode_cursor("anything else"), "\u00e9t\u00e9"):
        with pytest.raises(ValueError):
            decode_cursor(wrong)
    assert format_price_dot(1290) == "12.90" and format_price_dot(5) == "0.05"
    for hours in HOURS_TEMPLATES:
        entries = hours_entries(hours)
        assert all(set(e) == {"day", "opens", "closes"} for e in entries)
    assert hours_osm(HOURS_TEMPLATES[0]) == "Mo-Sa 09:00-19:00"


def test_truth_has_one_row_per_record_with_unique_ids(platform: ClickAndCo,
                                                      world: World) -> None:
    truth = list(platform.truth())
    assert len(truth) == len(platform.records)
    ids = [row[2] for row in truth]
    assert len(set(ids)) == len(ids)
    kinds = Counter(r.kind for r in platform.records)
    assert kinds["shop"] == len(world.shops_on("clickandco"))
    assert kinds["product"] == len(world.offers_on("clickandco"))
    shop_ids = {r.source_id for r in platform.records if r.kind == "shop"}
    for record in platform.records:
        assert record.fields["url"].startswith("/")
        assert None not in record.fields.values()
        if record.kind == "product":
            assert record.fields["shop_source_id"] in shop_ids
            assert record.entity_id.startswith("offer:")
            assert record.fields["price"] == format_price_dot(record.native["price_cents"])
        else:
            assert record.entity_id.startswith("shop:")
    listing = next(platform.expected_listings())
    assert listing["url"].startswith(platform.base_url + "/boutique/")


def test_the_same_world_renders_identically(platform: ClickAndCo, world: World) -> None:
    again = ClickAndCo(World.generate(SEED, SHOPS))
    assert [(r.source_id, r.entity_id, r.fields, r.native) for r in again.records] == \
        [(r.source_id, r.entity_id, r.fields, r.native) for r in platform.records]


def test_noise_follows_the_platform_style(world: World) -> None:
    big = ClickAndCo(World.generate(SEED, 1500))
    shops = [r for r in big.records if r.kind == "shop"]
    products = [r for r in big.records if r.kind == "product"]
    share = lambda pred, rs: sum(map(pred, rs)) / len(rs)  # noqa: E731
    assert 0.55 < share(lambda r: "siret" in r.fields, shops) < 0.85
    assert 0.8 < share(lambda r: "lat" in r.fields, shops) < 0.97
    assert share(lambda r: r.fields["city"][:1].isdigit(), shops) > 0.03
    assert share(lambda r: r.fields["city"].isupper(), shops) > 0.03
    assert all(r.fields["phone"].startswith("+33") and len(r.fields["phone"]) == 12
               for r in shops)
    assert share(lambda r: r.fields["title"].isupper(), products) > 0.05
    assert all(r.fields["currency"] == "EUR" for r in products)
    assert {r.fields["availability"] for r in products} <= {"in_stock", "low", "out"}
    for r in shops:
        shop = big.world.shops[int(r.entity_id.split(":")[1])]
        assert r.fields["opening_hours"] == hours_osm(shop.hours)


def test_epoch_one_changes_some_records_and_keeps_the_others(world: World) -> None:
    before = {r.source_id: r for r in ClickAndCo(world).records}
    after = {r.source_id: r for r in ClickAndCo(World.generate(SEED, SHOPS, epoch=1)).records}
    common = before.keys() & after.keys()
    changed = [k for k in common if before[k].fields != after[k].fields]
    assert changed and len(changed) < len(common) / 2
    assert after.keys() - before.keys() and before.keys() - after.keys()
    assert all(before[k].entity_id == after[k].entity_id for k in common)


def test_shops_and_products_walk_completely_by_cursor(platform: ClickAndCo) -> None:
    client = Client(platform.wsgi())
    shops = walk(client, "/api/shops", limit=7)
    expected_shops = [r.native for r in platform.records if r.kind == "shop"]
    assert shops == expected_shops
    products = []
    for shop in shops:
        products.extend(walk(client, f"/api/shops/{shop['id']}/products", limit=3))
    assert len(products) == sum(r.kind == "product" for r in platform.records)
    assert all(isinstance(p["price_cents"], int) for p in products)
    # at most 50 a page, 20 by default
    assert len(client.get("/api/shops?limit=500").get_json()["data"]) == min(MAX_LIMIT,
                                                                              len(shops))
    assert len(client.get("/api/shops").get_json()["data"]) == min(20, len(shops))


def test_api_errors(platform: ClickAndCo) -> None:
    client = Client(platform.wsgi())
    assert client.get("/api/shops?cursor=%25%25").status_code == 400
    assert client.get("/api/shops?limit=0").status_code == 400
    missing = client.get("/api/shops/shp_nope/products")
    assert missing.status_code == 404 and missing.get_json()["error"] == "Not Found"
    shop_id = platform.records[0].source_id
    assert client.get(f"/api/shops/{shop_id}").get_json()["data"]["id"] == shop_id


def test_cursor_paging_does_not_drift_when_the_world_changes(world: World) -> None:
    platform = ClickAndCo(world, rate_limit=0)
    client = Client(platform.wsgi())
    first = client.get("/api/shops?limit=10").get_json()
    last_id = first["data"][-1]["id"]
    platform.set_world(World.generate(SEED, SHOPS, epoch=1))
    rest = walk_from(client, first["next_cursor"])
    assert all(item["id"] > last_id for item in rest)
    current = [r.source_id for r in platform.records if r.kind == "shop"]
    assert [item["id"] for item in rest] == [sid for sid in current if sid > last_id]


def walk_from(client: Client, cursor: str) -> list[dict[str, Any]]:
    items = []
    while cursor:
        body = client.get("/api/shops", query_string={"cursor": cursor, "limit": 10}).get_json()
        items.extend(body["data"])
        cursor = body["next_cursor"]
    return items


def test_rate_limit_answers_429_with_retry_after(world: World) -> None:
    platform = ClickAndCo(world, rate_limit=2, rate_burst=3)
    client = Client(platform.wsgi())
    ok = client.get("/api/shops?limit=1")
    assert ok.status_code == 200
    assert ok.headers["X-RateLimit-Limit"] == "2" and ok.headers["X-RateLimit-Burst"] == "3"
    assert ok.headers["X-RateLimit-Remaining"] == "2"
    statuses = [client.get("/api/shops?limit=1") for _ in range(40)]
    limited = [r for r in statuses if r.status_code == 429]
    assert len(limited) >= 35 and platform.rate_limited == len(limited)
    forms = Counter()
    for response in limited:
        value = response.headers["Retry-After"]
        if value.isdigit():
            forms["seconds"] += 1
            assert int(value) >= 1
        else:
            forms["date"] += 1
            assert email.utils.parsedate_to_datetime(value).timestamp() > time.time()
        assert response.get_json()["error"] == "Too Many Requests"
    assert forms["seconds"] and forms["date"]
    # public pages are not rate limited; other clients have their own bucket
    assert client.get(f"/boutique/{platform.records[0].source_id}").status_code == 200
    other = Client(platform.wsgi())
    assert other.get("/api/shops?limit=1",
                     environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    time.sleep(0.6)  # a token came back
    assert client.get("/api/shops?limit=1").status_code == 200


def test_bad_records_are_served_broken_and_not_in_the_truth(world: World) -> None:
    platform = ClickAndCo(world, faults=FaultProfile(bad_records=0.08), rate_limit=0)
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert {r.kind for r in bad} == {"shop", "product"}
    client = Client(platform.wsgi())
    shops = walk(client, "/api/shops", limit=9)
    nameless = [s for s in shops if s["id"] is None]
    assert len(nameless) == sum(r.kind == "shop" for r in bad)
    truth_ids = {r.source_id for r in platform.records}
    broken_products = []
    for shop in shops:
        if shop["id"] is None:
            continue
        for product in walk(client, f"/api/shops/{shop['id']}/products", limit=4):
            if not isinstance(product["price_cents"], int):
                broken_products.append(product)
                assert product["id"] not in truth_ids
    assert len(broken_products) == sum(r.kind == "product" for r in bad)


def test_public_pages_and_classify(platform: ClickAndCo) -> None:
    client = Client(platform.wsgi())
    shop = next(r for r in platform.records if r.kind == "shop")
    product = next(r for r in platform.records if r.kind == "product")
    page = client.get(shop.fields["url"])
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert text.endswith("</html>") and "/produit/" in text
    product_page = client.get(product.fields["url"]).get_data(as_text=True)
    assert "€" in product_page and product.fields["shop_source_id"] in product_page
    assert client.get("/produit/prd_nope").status_code == 404
    assert client.get("/robots.txt").status_code == 200
    assert platform.classify("/api/shops") == ("json", False)
    assert platform.classify("/api/shops/shp_1/products") == ("json", False)
    assert platform.classify("/boutique/shp_1") == ("html", False)
    assert platform.classify("/robots.txt") is None


def test_a_big_world_builds_and_answers_quickly() -> None:
    start = time.perf_counter()
    platform = ClickAndCo(World.generate(3, 1500), rate_limit=0)
    client = Client(platform.wsgi())
    body = client.get("/api/shops?limit=50").get_json()
    for shop in body["data"]:
        assert client.get(f"/api/shops/{shop['id']}/products").status_code == 200
    assert time.perf_counter() - start < 5.0
