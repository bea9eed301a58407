"""The Tout Toulouse connector: parsing, drift-proof paging, resume, incremental runs."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.store import Catalog
from crawlers.connectors.tout_toulouse import (
    Coverage,
    ToutToulouseConnector,
    WalkState,
    native_id,
    parse_items,
    product_listing,
    shop_listing,
)
from crawlers.errors import FetchError, InvalidListing, InvalidRecord
from crawlers.http import Fetcher, make_client
from crawlers.listing import validate_listing
from crawlers.orchestrator import RunReport
from crawlers.sink import CatalogSink
from crawlers.source import SourceConfig
from replicas.faults import FaultProfile
from replicas.platforms.tout_toulouse import ToutToulouse
from replicas.server import ReplicaCluster
from replicas.world import World
from tests.crawlers.conftest import crawl_once, expected, listings_of, live, repository_config

KEY = "tout_toulouse"
BASE = "http://tt.test"


def absolute(path: str) -> str:
    return BASE + path


# --------------------------------------------------------------------------- parsing
SHOP = {
    "id": 1074, "nom": "Maison Renard", "forme_juridique": "SASU",
    "adresse": {"rue": "86 rue de la République", "code_postal": "31300", "ville": "Toulouse"},
    "telephone": "05 67 27 89 89", "email": None, "site_web": "https://www.maisonrenard.fr/",
    "siret": "61732127800013", "geo": {"lat": 43.614224, "lng": 1.421961},
    "categories": ["Boulangerie"],
    "services": {"click_and_collect": True, "livraison": False, "livraison_locale": True},
    "horaires": "Tu-Sa 10:00-19:00", "description": "Boulangerie-Pâtisserie à Toulouse.",
    "updated_at": "2026-01-05T06:00:00Z",
}
PRODUCT = {
    "id": 100602, "boutique_id": 1074, "libelle": "Croustade gasconne", "marque": None,
    "ean": "3100040000127", "prix": 20.5, "devise": "EUR", "disponibilite": "stock_limite",
    "categorie": "Boulangerie", "description": "Croustade.", "image": "https://m.fr/8.jpg",
    "updated_at": "2026-01-05T06:00:00Z",
}


def test_shop_listing_maps_the_french_fields() -> None:
    listing = validate_listing({**shop_listing(SHOP, absolute), "source": KEY})
    assert listing == {
        "kind": "shop", "source": KEY, "source_id": "boutique-1074",
        "url": "http://tt.test/boutique/1074", "name": "Maison Renard SASU",
        "address": "86 rue de la République", "postcode": "31300", "city": "Toulouse",
        "phone": "05 67 27 89 89", "website": "https://www.maisonrenard.fr/",
        "siret": "61732127800013", "lat": 43.614224, "lon": 1.421961,
        "categories": ["Boulangerie"], "services": ["Click & Collect", "Livraison locale"],
        "opening_hours": "Tu-Sa 10:00-19:00", "description": "Boulangerie-Pâtisserie à Toulouse.",
    }


def test_shop_listing_without_legal_form_geo_or_services() -> None:
    item = {**SHOP, "geo": None, "services": {"click_and_collect": False}}
    del item["forme_juridique"]
    listing = validate_listing({**shop_listing(item, absolute), "source": KEY})
    assert listing["name"] == "Maison Renard"
    assert "lat" not in listing and "services" not in listing


def test_product_listing_keeps_the_price_number() -> None:
    listing = validate_listing({**product_listing(PRODUCT, absolute), "source": KEY})
    assert listing == {
        "kind": "product", "source": KEY, "source_id": "produit-100602",
        "url": "http://tt.test/produit/100602", "title": "Croustade gasconne",
        "gtin": "3100040000127", "price": 20.5, "currency": "EUR",
        "availability": "stock_limite", "category": "Boulangerie", "description": "Croustade.",
        "image_url": "https://m.fr/8.jpg", "shop_source_id": "boutique-1074",
    }
    with pytest.raises(InvalidRecord, match="without a shop"):
        product_listing({**PRODUCT, "boutique_id": None}, absolute)


def test_native_id() -> None:
    assert native_id(12) == 12 and native_id("12") == 12
    assert native_id(None) is None and native_id(True) is None and native_id("x1") is None


def test_parse_items_sorts_listings_tombstones_and_broken_rows() -> None:
    items = [{**SHOP, "id": None}, "junk", SHOP, {"id": 1076, "deleted": True},
             {**SHOP, "id": 1077, "geo": {"lat": "n/a", "lng": "n/a"}}]
    page = parse_items(items, "shop", absolute)
    assert len(page.unreadable) == 2 and "Maison Renard" in page.unreadable[0][1]
    assert [(i.source_id, i.deleted) for i in page.items] == [
        ("boutique-1074", False), ("boutique-1076", True), ("boutique-1077", False)]
    with pytest.raises(InvalidListing):  # the sink reports it, with its id kept live
        validate_listing({**page.items[2].listing, "source": KEY})  # type: ignore[dict-item]
    broken = parse_items([{**PRODUCT, "boutique_id": None}], "product", absolute)
    assert broken.items[0].problem and broken.items[0].listing is None


def test_coverage_counts_a_contiguous_run() -> None:
    cov = Coverage(total=12)
    assert cov.take([1, 2, 3, 4, 5]) == [1, 2, 3, 4, 5]
    assert not cov.after_gap([4, 5, 6, 7]) and cov.take([4, 5, 6, 7]) == [6, 7]
    assert cov.after_gap([9, 10])  # nothing shared: something may lie between 7 and 9
    assert cov.before_gap([-3, -2]) and not cov.before_gap([0, 1])
    assert cov.take([0, 1]) == [0]
    assert (cov.first_id, cov.last_id, cov.count) == (0, 7, 8) and not cov.complete
    cov.null_rows.append("0123abcd")
    cov.take([7, 8, 9])
    assert cov.seen == 11 and not cov.complete
    cov.take([9, 10])
    assert cov.complete
    state = WalkState(offset=40, phase="recover", coverage=cov, rounds=1)
    assert WalkState.from_json(state.to_json()) == state


# --------------------------------------------------------------------------- in process
def source_config(**options: Any) -> SourceConfig:
    return repository_config(KEY, BASE, options={"page_size": 20, "overlap": 4, **options})


def connector_for(platform: ToutToulouse | None, config: SourceConfig | None = None,
                  transport: httpx.BaseTransport | None = None) -> ToutToulouseConnector:
    config = config or source_config()
    assert platform is not None or transport is not None
    client = make_client(config, transport=transport or httpx.WSGITransport(
        app=platform.wsgi()))  # type: ignore[union-attr]
    return ToutToulouseConnector(config, client,
                                 fetcher=Fetcher(config, client, sleep=lambda s: None))


def in_process(world: World, faults: str = "none") -> ToutToulouse:
    platform = ToutToulouse(world, faults=FaultProfile.parse(faults))
    platform.base_url = BASE
    return platform


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(12, 150)


@pytest.mark.parametrize("overlap", [1, 4])
def test_drift_is_caught_and_re_paged(world: World, overlap: int) -> None:
    platform = in_process(world, "drift=0.5,5xx=0.05,truncated=0.05")
    connector = connector_for(platform, source_config(overlap=overlap))
    results = list(connector.pages())
    assert not any(r.failed for r in results)
    assert listings_of(results, KEY) == expected(platform)
    assert platform.injector.injected["drift"] > 5
    if overlap == 1:  # a window shifted by more than the overlap leaves a gap, re-paged
        assert connector.fetcher.stats["drift_gaps"] > 0
    # each listing is passed on once (dedupe by id)
    ids = [raw["source_id"] for r in results for raw in r.listings]
    assert len(ids) == len(set(ids))


def test_a_hopeless_drift_is_reported_not_hidden(world: World) -> None:
    """The first page always comes two items late: the walk cannot be complete, and says so."""
    platform = in_process(world)
    app = platform.create_app()

    def always_late(environ: dict[str, Any], start_response: Any) -> Any:
        if "offset=0&" in environ.get("QUERY_STRING", "") + "&":
            environ["replica.drift"] = -2
        return app(environ, start_response)

    transport = httpx.WSGITransport(app=always_late)
    results = list(connector_for(None, transport=transport).pages())
    failed = [r for r in results if r.failed]
    assert len(failed) == 2  # shops and products
    assert all(e[1] == "incomplete" for r in failed for e in r.errors)


def test_killed_run_resumes_from_the_checkpoint(world: World, tmp_path: Path) -> None:
    platform = in_process(world, "drift=0.3,bad=0.02")
    catalog = Catalog.open(tmp_path / "catalog.sqlite")
    run_id = catalog.begin_run(KEY)
    sink = CatalogSink(catalog, run_id, KEY)
    for number, result in enumerate(connector_for(platform).pages()):
        sink.write(result)
        if number == 6:  # killed here, in the products
            break
    checkpoint = catalog.get_run(run_id).checkpoint
    assert checkpoint["endpoint"] == 1 and checkpoint["state"]["coverage"]["count"] > 0
    sink = CatalogSink(catalog, run_id, KEY)
    for result in connector_for(platform).pages(checkpoint):
        sink.write(result)
    run = sink.finish()
    assert run.status == "complete"
    assert {i["source_id"]: i for i in catalog.listings(source=KEY)} == expected(platform)


def test_the_final_check_after_a_resume_re_pages_the_head(world: World) -> None:
    """A checkpoint saying the walk missed the first two shops: they are fetched again."""
    platform = in_process(world)
    shops = [r for r in platform.records if r.kind == "shop"]
    ids = [r.native["id"] for r in shops]
    checkpoint = {"v": 1, "since": None, "endpoint": 0, "state": {
        "offset": 0, "phase": "recover", "broken": False, "rounds": 0,
        "coverage": {"first_id": ids[2], "last_id": ids[-1], "count": len(ids) - 2,
                     "null_rows": [], "total": len(ids)}}}
    results = list(connector_for(platform).pages(checkpoint))
    assert not any(r.failed for r in results)
    first = [raw["source_id"] for raw in results[0].listings]
    assert first == [shops[0].source_id, shops[1].source_id]
    store = listings_of(results, KEY)
    assert {k for k in store if k.startswith("boutique-")} == {s.source_id for s in shops[:2]}


def test_broken_rows_are_errors_not_listings(world: World, tmp_path: Path) -> None:
    platform = in_process(world, "bad=0.3")
    catalog = Catalog.open(tmp_path / "catalog.sqlite")
    run_id = catalog.begin_run(KEY)
    sink = CatalogSink(catalog, run_id, KEY)
    for result in connector_for(platform).pages():
        sink.write(result)
    run = sink.finish()
    assert run.status == "complete"
    assert {i["source_id"]: i for i in catalog.listings(source=KEY)} == expected(platform)
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    errors = catalog.errors_by_kind(run_id)
    assert set(errors) == {"invalid_record", "invalid_listing"}  # no id / no shop; bad lat
    assert sum(errors.values()) == len(bad)


def test_incremental_crawl_gets_changes_and_tombstones() -> None:
    platform = in_process(World.generate(12, 150), "drift=0.2")
    full = list(connector_for(platform).pages())
    since = datetime.now(UTC)
    quiet = list(connector_for(platform).pages(since=since))
    assert not any(r.listings or r.gone for r in quiet)
    time.sleep(0.01)
    platform.set_world(World.generate(12, 150, 1))
    changes = list(connector_for(platform).pages(since=since))
    assert sum(len(r.gone) for r in changes) > 0
    assert listings_of(full + changes, KEY) == expected(platform)
    # a full crawl ignores tombstones
    assert not any(r.gone for r in connector_for(platform).pages())


def test_refused_token_stops_the_run(world: World) -> None:
    config = dataclasses.replace(source_config(), auth={"type": "bearer", "token": "wrong"})
    with pytest.raises(FetchError) as caught:
        list(connector_for(in_process(world), config).pages())
    assert caught.value.status == 401


def test_lost_pages_are_reported_and_the_rest_is_crawled(world: World) -> None:
    platform = in_process(world)
    app = httpx.WSGITransport(app=platform.wsgi())

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/products" and request.url.params["offset"] == "16":
            return httpx.Response(503)
        return app.handle_request(request)

    config = dataclasses.replace(source_config(), retries=1)
    results = list(connector_for(None, config, httpx.MockTransport(handler)).pages())
    failed = [r for r in results if r.failed]
    assert len(failed) == 1 and failed[0].errors[0][1] == "http_503"
    missing = set(expected(platform)) - set(listings_of(results, KEY))
    assert 0 < len(missing) <= 16  # only what the lost window alone held (page - overlap)


# --------------------------------------------------------------------------- over HTTP
def test_incremental_crawls_over_http_between_full_ones(
        replica_cluster: Callable[..., ReplicaCluster], agora_home: Path) -> None:
    """Runs alternate as the entry says (incremental, every full_every-th full)."""
    replicas = replica_cluster(shops=150, seed=12, platforms=(KEY,))
    platform = replicas.platforms[KEY]
    config = repository_config(KEY, replicas.urls[KEY],
                               options={"page_size": 20, "overlap": 4})
    assert config.incremental
    before = expected(platform)

    def run_crawl(full: bool = False) -> RunReport:
        return crawl_once(config, agora_home, full=full)

    first = run_crawl()
    assert (first.run.status, first.run.mode) == ("complete", "full")
    assert first.run.new == len(before) and live(agora_home, KEY) == before

    second = run_crawl()  # incremental: nothing changed since
    assert (second.run.status, second.run.mode) == ("complete", "incremental")
    # since = the platform's own high-water mark minus a safety margin: what is
    # fetched again inside the margin is unchanged, nothing is new or gone
    assert (second.run.new, second.run.updated, second.run.gone) == (0, 0, 0)
    assert second.run.unchanged == second.run.listings <= len(before)

    third = run_crawl(full=True)
    assert third.run.status == "complete"
    assert (third.run.new, third.run.updated, third.run.gone, third.run.unchanged) == \
        (0, 0, 0, len(before))

    replicas.set_epoch(1)
    after = expected(platform)
    fourth = run_crawl()
    assert (fourth.run.status, fourth.run.mode) == ("complete", "incremental")
    assert fourth.run.new == len(set(after) - set(before)) > 0
    assert fourth.run.gone == len(set(before) - set(after)) > 0
    assert fourth.run.updated == sum(1 for k in after if k in before and after[k] != before[k])
    assert live(agora_home, KEY) == after

    fifth = run_crawl(full=True)  # the incremental run missed nothing
    assert fifth.run.status == "complete"
    assert (fifth.run.new, fifth.run.updated, fifth.run.gone) == (0, 0, 0)
    assert live(agora_home, KEY) == after
