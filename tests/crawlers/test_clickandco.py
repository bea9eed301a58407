"""The Click'n Co connector: parsing, pacing, resume, errors (real crawls: the platform contract)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest

from crawlers.connectors.clickandco import (
    ClickAndCoConnector,
    Pacer,
    opening_hours_text,
    price_from_cents,
    product_listing,
    read_page,
    shop_listing,
)
from crawlers.errors import InvalidRecord, SourceLayoutChanged
from crawlers.http import Fetcher, make_client
from crawlers.listing import PageResult, validate_listing
from crawlers.source import SourceConfig
from replicas.faults import FaultProfile
from replicas.noise import hours_osm
from replicas.platforms.clickandco import ClickAndCo, hours_entries
from replicas.world import HOURS_TEMPLATES, World
from tests.crawlers.conftest import expected, listings_of, repository_config

KEY = "clickandco"
BASE = "http://cc.test"

SHOP_JSON = """{"id": "shp_0a1b2c3d4e5f", "name": "BOULANGERIE MARTIN SARL",
 "address": {"line1": "12 av. de Toulouse", "zip": "31670", "city": "31670 Labège"},
 "phone_e164": "+33561223344", "email": null, "website": "https://www.martin.fr/",
 "location": {"lat": 43.5412, "lon": 1.5123}, "category": "boulangerie_patisserie",
 "click_and_collect": true, "delivery": false, "local_delivery": true,
 "opening_hours": [{"day": "tuesday", "opens": "07:00", "closes": "13:30"},
                   {"day": "wednesday", "opens": "07:00", "closes": "13:30"},
                   {"day": "sunday", "opens": "08:00", "closes": "12:00"}],
 "permalink": "/boutique/shp_0a1b2c3d4e5f"}"""

PRODUCT_JSON = """{"id": "prd_99", "shop_id": "shp_0a1b2c3d4e5f", "name": "CHOCOLATINE",
 "brand": null, "ean": null, "price_cents": 1290, "currency": "EUR", "stock": "low",
 "category": "boulangerie_patisserie", "image_url": null}"""


def absolute(path: str) -> str:
    return BASE + path


# ---------------------------------------------------------------------- pure functions
def test_price_from_cents() -> None:
    assert price_from_cents(1290) == "12.90"
    assert price_from_cents(5) == "0.05"
    assert price_from_cents(125000) == "1250.00"
    assert price_from_cents("990") == "9.90"
    assert price_from_cents(1290.0) == "12.90"
    for wrong in ("sur devis", "12,90", None, True, -5, 12.5, [1]):
        with pytest.raises(InvalidRecord):
            price_from_cents(wrong)


def test_opening_hours_group_days_like_osm() -> None:
    for hours in HOURS_TEMPLATES:  # what the replica serves reads back as the world's hours
        assert opening_hours_text(hours_entries(hours)) == hours_osm(hours)
    week = json.loads(SHOP_JSON)["opening_hours"]
    assert opening_hours_text(week) == "Tu-We 07:00-13:30; Su 08:00-12:00"
    assert opening_hours_text([{"day": "funday"}, "x", {"day": "monday", "opens": "9h"}]) is None
    assert opening_hours_text(None) is None


def test_shop_listing_maps_the_record_to_the_contract() -> None:
    listing = shop_listing(json.loads(SHOP_JSON), absolute)
    assert validate_listing({**listing, "source": KEY}) == {
        "kind": "shop", "source": KEY, "source_id": "shp_0a1b2c3d4e5f",
        "url": "http://cc.test/boutique/shp_0a1b2c3d4e5f",
        "name": "BOULANGERIE MARTIN SARL", "address": "12 av. de Toulouse",
        "postcode": "31670", "city": "31670 Labège", "phone": "+33561223344",
        "website": "https://www.martin.fr/", "lat": 43.5412, "lon": 1.5123,
        "categories": ["boulangerie_patisserie"],
        "services": ["click_and_collect", "local_delivery"],
        "opening_hours": "Tu-We 07:00-13:30; Su 08:00-12:00",
    }
    bare = shop_listing({"id": 42, "location": None, "address": "?"}, absolute)
    assert bare["source_id"] == "42" and bare["url"] == "http://cc.test/boutique/42"
    assert bare["lat"] is None and bare["services"] is None and bare["categories"] is None
    for broken in ({"id": None, "name": "X"}, {"name": "X"}, "shp_1", {"id": "  "}):
        with pytest.raises(InvalidRecord, match="without an id"):
            shop_listing(broken, absolute)  # type: ignore[arg-type]


def test_product_listing_converts_cents_and_names_its_shop() -> None:
    listing = product_listing(json.loads(PRODUCT_JSON), "shp_other", absolute)
    assert validate_listing({**listing, "source": KEY}) == {
        "kind": "product", "source": KEY, "source_id": "prd_99",
        "url": "http://cc.test/produit/prd_99", "title": "CHOCOLATINE", "price": "12.90",
        "currency": "EUR", "availability": "low", "category": "boulangerie_patisserie",
        "shop_source_id": "shp_0a1b2c3d4e5f",
    }
    orphan = product_listing({"id": "prd_1", "price_cents": None}, "shp_x", absolute)
    assert orphan["shop_source_id"] == "shp_x" and orphan["price"] is None
    with pytest.raises(InvalidRecord, match="price_cents"):
        product_listing({"id": "prd_2", "price_cents": "sur devis"}, "shp_x", absolute)


def test_read_page() -> None:
    assert read_page({"data": [1, 2], "next_cursor": "abc"}) == ([1, 2], "abc")
    assert read_page({"data": [], "next_cursor": None}) == ([], None)
    for wrong in ({"items": []}, [], {"data": {}}, {"data": [], "next_cursor": 3}):
        with pytest.raises(SourceLayoutChanged):
            read_page(wrong)


def test_pacer_spaces_requests_after_the_burst() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(10.0, 3, clock=lambda: now[0], sleep=sleep)
    waits = [pacer.acquire() for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([0.1, 0.1, 0.1])
    pacer.set_rate(2.0, 1)
    now[0] += 10  # idle: the bucket refills, up to its (new) burst only
    assert pacer.acquire() == 0.0 and pacer.acquire() == pytest.approx(0.5)


# ---------------------------------------------------------------------- in-process crawls
def config(**values: Any) -> SourceConfig:
    return repository_config(KEY, BASE, **values)


def connector_on(platform: ClickAndCo, **values: Any) -> ClickAndCoConnector:
    """A connector on the platform's app in-process, pacing off unless the server limits."""
    platform.base_url = BASE
    values.setdefault("options", {})
    if platform.rate_limit:
        values["options"].setdefault("rate_limit", None)
    else:
        values["options"].setdefault("rate_limit", 10_000)
    cfg = config(**values)
    client = make_client(cfg, transport=httpx.WSGITransport(app=platform.wsgi()))
    return ClickAndCoConnector(cfg, client, fetcher=Fetcher(cfg, client, sleep=lambda s: None))


@pytest.fixture(scope="module")
def small_world() -> World:
    return World.generate(5, 100)


def test_connector_gets_exactly_the_expected_listings(small_world: World) -> None:
    platform = ClickAndCo(small_world, rate_limit=0)
    connector = connector_on(platform, options={"page_size": 7})
    results = list(connector.pages())
    assert listings_of(results, KEY) == expected(platform)
    assert not any(r.failed or r.errors for r in results)
    per_shop = Counter(r.fields.get("shop_source_id") for r in platform.records)
    shops = [r.source_id for r in platform.records if r.kind == "shop"]
    # shop pages, then each shop's product pages (one even when it sells nothing)
    assert len(results) == -(-len(shops) // 7) + sum(max(1, -(-per_shop[s] // 7))
                                                     for s in shops)
    last = results[-1].checkpoint
    assert last["exhausted"] and last["pending"] == [] and last["cursor"] is None
    # the shop pages run only a little ahead of the products: the checkpoint stays small
    assert max(len(r.checkpoint["pending"]) for r in results) <= 2 * 7 + 7


def test_a_killed_crawl_resumes_from_its_checkpoint(small_world: World) -> None:
    platform = ClickAndCo(small_world, rate_limit=0)
    first: list[PageResult] = []
    for result in connector_on(platform, options={"page_size": 5}).pages():
        first.append(result)
        if len(first) == 9:
            break  # killed: the pool shuts down, the checkpoint is what was stored last
    checkpoint = json.loads(json.dumps(first[-1].checkpoint))
    assert checkpoint["cursor"] and checkpoint["pending"]
    platform.requests.clear()
    rest = list(connector_on(platform, options={"page_size": 5}).pages(checkpoint))
    assert listings_of(first, KEY) | listings_of(rest, KEY) == expected(platform)
    refetched = [p for p in platform.requests if "/products" in p]
    assert len(refetched) == len(set(refetched))
    done_before = {r.listings[0]["shop_source_id"] for r in first
                   if r.listings and r.listings[0]["kind"] == "product"}
    assert not any(sid in path for path in refetched
                   for sid in done_before - set(checkpoint["pending"]))


def test_broken_records_are_errors_and_touched(small_world: World) -> None:
    platform = ClickAndCo(small_world, faults=FaultProfile(bad_records=0.06), rate_limit=0)
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert {r.kind for r in bad} == {"shop", "product"}
    results = list(connector_on(platform).pages())
    assert listings_of(results, KEY) == expected(platform)
    errors = [e for r in results for e in r.errors]
    assert len(errors) == len(bad) and {e[1] for e in errors} == {"invalid_record"}
    assert sum("shop without an id" in e[2] for e in errors) == sum(r.kind == "shop" for r in bad)
    touched = [sid for r in results for sid in r.touched]
    assert len(touched) == sum(r.kind == "product" for r in bad)
    assert not set(touched) & {r.source_id for r in platform.records}
    assert not any(r.failed for r in results)


def test_lost_pages_fail_and_the_rest_is_crawled(small_world: World) -> None:
    platform = ClickAndCo(small_world, rate_limit=0)
    victim = next(r for r in platform.records if r.kind == "shop").source_id
    inner = platform.wsgi()

    def app(environ: dict, start_response: Any) -> Any:
        if victim in environ["PATH_INFO"]:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        return inner(environ, start_response)

    platform.wsgi = lambda: app  # type: ignore[method-assign]
    results = list(connector_on(platform, retries=1).pages())
    failed = [r for r in results if r.failed]
    assert len(failed) == 1 and failed[0].errors[0][1] == "http_503"
    assert failed[0].page is False and victim in failed[0].errors[0][0]
    got = listings_of(results, KEY)
    lost = {k for k, v in expected(platform).items() if v.get("shop_source_id") == victim}
    assert got == {k: v for k, v in expected(platform).items() if k not in lost}
    assert victim in results[-1].checkpoint["pending"]  # a resumed run would try again


def test_a_shop_that_vanished_mid_crawl_loses_no_page(small_world: World) -> None:
    platform = ClickAndCo(small_world, rate_limit=0)
    connector = connector_on(platform)
    results = []
    for result in connector.pages():
        results.append(result)
        if len(results) == 1:  # the next epoch comes while the products are fetched
            platform.set_world(World.generate(5, 100, epoch=1))
    vanished = [r for r in results if r.errors]
    assert vanished and all(e[1] == "http_404" and "vanished" in e[2]
                            for r in vanished for e in r.errors)
    assert not any(r.failed for r in results) and results[-1].checkpoint["pending"] == []


def test_429s_are_waited_out_and_the_crawl_is_complete() -> None:
    platform = ClickAndCo(World.generate(5, 40), rate_limit=8, rate_burst=2)
    platform.base_url = BASE
    # The connector is told a wrong, much higher rate: the server's 429s must correct it.
    cfg = config(options={"rate_limit": 100, "rate_burst": 100}, concurrency=3)
    client = make_client(cfg, transport=httpx.WSGITransport(app=platform.wsgi()))
    results = list(ClickAndCoConnector(cfg, client).pages())
    assert listings_of(results, KEY) == expected(platform)
    assert not any(r.failed for r in results)
    assert platform.rate_limited > 0


def test_the_connector_follows_the_announced_rate(small_world: World) -> None:
    platform = ClickAndCo(small_world, rate_limit=7, rate_burst=4)
    connector = connector_on(platform)
    next(iter(connector.pages()))
    assert connector.pacer.rate == pytest.approx(7 * 0.95) and connector.pacer.burst == 2
