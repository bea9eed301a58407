"""The declarative engine: transforms, selectors, the json_api/geojson connectors, and proof
that configuration alone crawls the existing replicas as their hand-written connectors do."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import scrapy
from parsel import Selector
from scrapy.utils.test import get_crawler

from catalog.store import Catalog
from crawlers import registry
from crawlers.config import SourceConfig
from crawlers.connectors.tout_toulouse import ToutToulouseConnector
from crawlers.declarative.fields import read_items, select_nodes
from crawlers.declarative.json_api import DeclarativeApiConnector
from crawlers.declarative.schema import compile_spec
from crawlers.errors import FetchError
from crawlers.http import Fetcher, make_client
from crawlers.listing import PageResult, validate_listing
from crawlers.orchestrator import crawl_sources
from crawlers.preview import Preview, PreviewSink, preview_source
from crawlers.transforms import (
    TransformError,
    apply_transforms,
    cents_to_decimal,
    compile_transforms,
)
from replicas.faults import FaultProfile
from replicas.platforms.geolocal31 import Geolocal31
from replicas.platforms.mavillemonshopping import BAD_ID_BASE, MaVilleMonShopping, render_card
from replicas.platforms.tout_toulouse import ToutToulouse
from replicas.server import ReplicaCluster
from replicas.world import World
from tests.conftest import SOURCES_FILE
from tests.crawlers.conftest import config_of, html_response, listings_of

BASE = "http://api.test"


# ---------------------------------------------------------------------- transforms
@pytest.mark.parametrize(("spec", "value", "out"), [
    (["strip"], "  a \n b ", "a b"),
    (["lower"], ["AB", None], ["ab", None]),
    (["upper"], "é", "É"),
    ([{"prefix": "boutique-"}], 42, "boutique-42"),
    ([{"suffix": " €"}], "12,90", "12,90 €"),
    ([{"replace": ["mailto:", ""]}], "mailto:a@b.fr", "a@b.fr"),
    ([{"regex": r"SIRET\s*:\s*(.+)"}], "SIRET : 123 456", "123 456"),
    ([{"regex": r"\d+"}], "n° 42 bis", "42"),
    ([{"regex": r"\d+"}], "none", None),
    ([{"regex": {"pattern": r"(\d+)-(\d+)", "group": 2}}], "10-20", "20"),
    ([{"regex": {"pattern": r"(\d+),(\d+)", "replace": r"\1.\2"}}], "12,90", "12.90"),
    ([{"split": " | "}], "Retrait | Livraison | ", ["Retrait", "Livraison"]),
    ([{"split": {"sep": ",", "index": -1}}], "12 rue X, 31000 Toulouse", "31000 Toulouse"),
    ([{"split": {"sep": ",", "index": 5}}], "a,b", None),
    ([{"join": "; "}], ["Mo-Fr 09:00-19:00", "", None, "Sa 10:00-12:00"],
     "Mo-Fr 09:00-19:00; Sa 10:00-12:00"),
    ([{"join": ", "}], [], None),
    (["first"], [None, "", "x", "y"], "x"),
    (["last"], ["x", "y", ""], "y"),
    (["compact"], ["a", False, None, "", "b"], ["a", "b"]),
    ([{"default": "EUR"}], None, "EUR"),
    ([{"default": "EUR"}], "USD", "USD"),
    ([{"attr": "name"}], [{"name": "A"}, "B"], ["A", "B"]),
    ([{"map": {"in_stock": "en stock"}}], ["in_stock", "out"], ["en stock", "out"]),
    (["cents_to_decimal"], 1290, "12.90"),
    (["cents_to_decimal"], "sur devis", None),
    (["number"], "43,6", 43.6),
    (["number"], "n/a", None),
    (["absolute"], "/p/1", "http://h.test/p/1"),
    (["strip", {"split": "|"}, {"join": ", "}], " a | b ", "a, b"),
    (["strip", {"prefix": "x"}], None, None),
])
def test_transforms(spec: list[Any], value: Any, out: Any) -> None:
    assert apply_transforms(compile_transforms(spec), value, "http://h.test/list") == out


@pytest.mark.parametrize(("spec", "message"), [
    (["shout"], "unknown transform 'shout'"),
    (["join"], "join needs an argument"),
    ([{"strip": "x"}], "strip takes no argument"),
    ([{"regex": "("}], "does not compile"),
    ([{"regex": {"pattern": "(a)", "group": 3}}], "has no group 3"),
    ([{"split": ""}], "non-empty separator"),
    ([{"replace": "a"}], "replace needs [OLD, NEW]"),
    ([{"a": 1, "b": 2}], "one-key mapping"),
])
def test_bad_transforms_are_refused_with_their_index(spec: list[Any], message: str) -> None:
    with pytest.raises(TransformError, match=message.replace("[", r"\[")) as info:
        compile_transforms(["strip", *spec])
    assert info.value.index == 1


def test_cents_to_decimal() -> None:
    assert [cents_to_decimal(v) for v in (5, 125000, 1290.0, True, -1)] == [
        "0.05", "1250.00", "12.90", None, None]


# ---------------------------------------------------------------------- selectors
def test_the_sixth_platforms_card_reads_back_as_its_listing() -> None:
    """The repository's entry, applied to one rendered card, gives the record's listing."""
    platform = MaVilleMonShopping(World.generate(7, 200), faults=FaultProfile())
    spec = compile_spec(config_of(SOURCES_FILE.read_text(), "mavillemonshopping"))
    rule = spec.pages["boutiques"].items[0]
    expected = {i["source_id"]: i for i in platform.expected_listings()}
    shops = [r for r in platform.records if r.kind == "shop"]
    page = Selector(text="<html><body>" + "".join(render_card(r, "v1") for r in shops)
                    + "</body></html>")
    result = PageResult("http://127.0.0.1:8706/boutiques?page=1")
    read_items(rule, select_nodes(rule.select, page, result.url), page, result.url, result,
               page_url_default=True)
    assert len(result.listings) == len(shops) and not result.errors
    for listing in result.listings:
        assert validate_listing({**listing, "source": platform.key}) == \
            expected[listing["source_id"]]
    broken = Selector(text=render_card(shops[0], "v1", broken=True))
    result = PageResult("http://x/boutiques")
    read_items(rule, select_nodes(rule.select, broken, result.url), broken, result.url, result)
    bad_id = f"boutique-{BAD_ID_BASE + shops[0].native['number']}"
    assert result.listings == [] and result.touched == [bad_id]
    assert result.errors[0][1:] == ("invalid_record", f"{bad_id}: shop without name")


def test_json_items_without_id_are_reported_once() -> None:
    spec = compile_spec(config_of(SOURCES_FILE.read_text(), "mavillemonshopping"))
    rule = spec.pages["catalogue"].items[0]
    page = {"boutique": {"id": "boutique-1"}, "produits": [
        {"ref": "r1", "nom": "A", "prix": {"centimes": 150}, "lien": "/produit/r1"},
        {"ref": None, "nom": "B"}, {"ref": None, "nom": "B"}]}
    result = PageResult("http://x/api/catalogue?boutique=1")
    null_rows: set[str] = set()
    read_items(rule, select_nodes(rule.select, page, result.url), page, result.url, result,
               null_rows=null_rows)
    assert result.listings == [{"kind": "product", "source_id": "r1", "title": "A",
                                "price": "1.50", "url": "http://x/produit/r1",
                                "shop_source_id": "boutique-1"}]
    assert result.errors == [(result.url, "invalid_record", "product without source_id")]
    assert select_nodes(rule.select, {"items": []}, "u") is None  # no list: a layout change


# ---------------------------------------------------------------------- json_api, mocked
API = """\
sources:
  demo:
    name: Demo
    connector: json_api
    base_url: http://api.test
    retries: 1
    extract:
      endpoints:
        - kind: shop
          path: /shops
          items: data
          pagination: {pagination}
          fields:
            source_id: id
            name: name
            url: {{path: id, transform: [{{prefix: /s/}}]}}
        - kind: product
          path: "/shops/{{value}}/products"
          for_each: {{endpoint: shop, value: id}}
          items: data
          required: [shop_source_id]
          fields: {{source_id: id, title: name, shop_source_id: shop}}
"""
SHOPS = [{"id": f"s{i}", "name": f"Shop {i}"} for i in range(1, 8)]


def api_config(pagination: str) -> SourceConfig:
    return config_of(API.format(pagination=pagination))


def run_api(config: SourceConfig, handler: Any) -> list[PageResult]:
    client = make_client(config, transport=httpx.MockTransport(handler))
    connector = registry.resolve(config).load()(config, client,
                                            fetcher=Fetcher(config, client, sleep=lambda s: 0))
    return list(connector.pages())


def products(request: httpx.Request) -> httpx.Response:
    shop = request.url.path.split("/")[2]
    data = [{"id": f"{shop}-p1", "name": "P", "shop": shop}]
    if shop == "s3":
        data += [{"id": None, "name": "no id"}, {"id": "s3-orphan", "name": "no shop"}]
    return httpx.Response(200, json={"data": data})


def listings(results: list[PageResult]) -> list[str]:
    return [item["source_id"] for r in results for item in r.listings]


@pytest.mark.parametrize("pagination", [
    "{style: page, param: p, size: 3, size_param: n, total: meta.total}",
    "{style: offset, size: 3, size_param: limit}",
    "{style: cursor, param: after, next: next}",
    "{style: next_link, next: links.next}",
])
def test_each_pagination_style_walks_everything(pagination: str) -> None:
    seen_queries: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/shops":
            return products(request)
        seen_queries.append(str(request.url.query, "ascii"))
        q = request.url.params
        if "p" in q:
            start = (int(q["p"]) - 1) * int(q["n"])
        elif "offset" in q:
            start = int(q["offset"])
        elif "after" in q:
            start = int(q["after"])
        else:
            start = int(q.get("from", 0))
        window = SHOPS[start:start + 3]
        end = start + len(window)
        more = end < len(SHOPS)
        return httpx.Response(200, json={
            "data": window, "meta": {"total": len(SHOPS)},
            "next": str(end) if more else None,
            "links": {"next": f"/shops?from={end}" if more else None}})

    results = run_api(api_config(pagination), handler)
    shops = [r for r in results if r.listings and r.listings[0]["kind"] == "shop"]
    assert listings(shops) == [s["id"] for s in SHOPS] and len(seen_queries) == 3
    assert shops[0].listings[0]["url"] == "http://api.test/s/s1"
    got = listings(results)
    assert got[len(SHOPS):] == [f"s{i}-p1" for i in range(1, 8)]  # parents in order
    errors = [e for r in results for e in r.errors]
    assert [e[1:] for e in errors] == [
        ("invalid_record", "product without source_id"),
        ("invalid_record", "s3-orphan: product without shop_source_id")]
    assert [t for r in results for t in r.touched] == ["s3-orphan"]
    assert not any(r.failed for r in results)
    last = results[-1].checkpoint
    assert last["endpoint"] == 2 and last["parents"] == {}


def test_a_short_walk_is_walked_again_until_the_total_is_reached() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/shops":
            return products(request)
        calls["n"] += 1
        page = int(request.url.params["p"])
        start = (page - 1) * 3
        if calls["n"] == 2:  # the first walk's page 2 drifted: two shops came in ahead
            start -= 2
        return httpx.Response(200, json={"data": SHOPS[start:start + 3],
                                          "meta": {"total": len(SHOPS)}})

    results = run_api(api_config("{style: page, param: p, total: meta.total}"), handler)
    assert sorted(listings(results)[:len(SHOPS)]) == sorted(s["id"] for s in SHOPS)
    assert calls["n"] == 6 and not any(r.failed for r in results)


def test_an_endpoint_that_stays_short_is_incomplete() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/shops":
            return products(request)
        return httpx.Response(200, json={"data": SHOPS[:2], "meta": {"total": 9}})

    results = run_api(api_config("{style: page, param: p, total: meta.total, rounds: 1}"),
                      handler)
    failed = [r for r in results if r.failed]
    assert len(failed) == 1 and failed[0].errors[0][1] == "incomplete"
    assert "2 of 9 records after 1 re-walk(s)" in failed[0].errors[0][2]


def test_lost_pages_layout_changes_and_refused_tokens() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/shops":
            return httpx.Response(503)
        return products(request)

    results = run_api(api_config("{style: cursor, param: after, next: next}"), down)
    assert results[0].failed and [e[1] for e in results[0].errors] == ["http_503", "abandoned"]

    def redesigned(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": SHOPS})

    results = run_api(api_config("none"), redesigned)
    assert results[0].failed and results[0].errors[0][1] == "layout"
    assert "no list at 'data'" in results[0].errors[0][2]

    with pytest.raises(FetchError) as info:
        run_api(api_config("none"), lambda request: httpx.Response(401))
    assert info.value.status == 401


def test_a_killed_walk_resumes_from_its_checkpoint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/shops":
            return products(request)
        start = int(request.url.params.get("after", 0))
        end = min(len(SHOPS), start + 3)
        return httpx.Response(200, json={"data": SHOPS[start:end],
                                          "next": str(end) if end < len(SHOPS) else None})

    config = api_config("{style: cursor, param: after, next: next}")
    client = make_client(config, transport=httpx.MockTransport(handler))
    first: list[PageResult] = []
    for result in DeclarativeApiConnector(config, client).pages():
        first.append(result)
        if len(first) == 4:  # the shops, then one shop's products: killed
            break
    checkpoint = json.loads(json.dumps(first[-1].checkpoint))
    assert checkpoint["endpoint"] == 1 and checkpoint["parents"]["product"][0] == "s1"
    rest = list(DeclarativeApiConnector(config, client).pages(checkpoint))
    assert set(listings(first)) | set(listings(rest)) == {s["id"] for s in SHOPS} | {
        f"s{i}-p1" for i in range(1, 8)}
    assert "s1-p1" not in listings(rest)


# ---------------------------------------------------------------------- the existing replicas
TOUT_TOULOUSE = """\
sources:
  tout_toulouse:
    name: Tout Toulouse (declarative)
    connector: json_api
    base_url: http://api.test
    auth: {type: bearer, token: "${AGORA_TEST_TT_TOKEN}"}
    extract:
      endpoints:
        - kind: shop
          path: /api/v1/shops
          items: items
          pagination: {style: offset, size: 20, size_param: limit, total: total, overlap: 4}
          fields:
            source_id: {path: id, transform: [{prefix: boutique-}]}
            url: {path: id, transform: [{prefix: /boutique/}]}
            name: {path: "[nom, forme_juridique]", transform: [{join: " "}]}
            address: adresse.rue
            postcode: adresse.code_postal
            city: adresse.ville
            phone: telephone
            email: email
            website: site_web
            siret: siret
            lat: geo.lat
            lon: geo.lng
            categories: categories
            services: >-
              [services.click_and_collect && 'Click & Collect',
               services.livraison && 'Livraison',
               services.livraison_locale && 'Livraison locale'] | [?@]
            opening_hours: horaires
            description: description
        - kind: product
          path: /api/v1/products
          items: items
          required: [shop_source_id]
          pagination: {style: offset, size: 20, size_param: limit, total: total, overlap: 4}
          fields:
            source_id: {path: id, transform: [{prefix: produit-}]}
            url: {path: id, transform: [{prefix: /produit/}]}
            title: libelle
            brand: marque
            gtin: ean
            price: prix
            currency: devise
            availability: disponibilite
            category: categorie
            description: description
            image_url: image
            shop_source_id: {path: boutique_id, transform: [{prefix: boutique-}]}
"""


def test_json_api_config_crawls_tout_toulouse_like_its_connector(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_TEST_TT_TOKEN", "replica-demo-token")
    declarative = config_of(TOUT_TOULOUSE, "tout_toulouse")
    crawler_type = registry.resolve(declarative)
    assert crawler_type.kind == "declarative" and crawler_type.engine == "api"
    platform = ToutToulouse(World.generate(5, 150),
                            faults=FaultProfile.parse("drift=0.3,truncated=0.05,bad=0.05"))
    platform.base_url = BASE
    client = make_client(declarative, transport=httpx.WSGITransport(app=platform.wsgi()))
    ours = list(DeclarativeApiConnector(declarative, client,
                                        fetcher=Fetcher(declarative, client,
                                                        sleep=lambda s: 0)).pages())
    hand = replace(declarative, connector="tout_toulouse", extract=None,
                   options={"page_size": 20, "overlap": 4})
    theirs = list(ToutToulouseConnector(hand, client, fetcher=Fetcher(
        hand, client, sleep=lambda s: 0)).pages())
    expected = {i["source_id"]: i for i in platform.expected_listings()}
    assert listings_of(ours, platform.key) == listings_of(theirs, platform.key) == expected
    assert not any(r.failed for r in ours)
    assert platform.injector.injected["drift"] > 0
    bad = {r.source_id for r in platform.records if platform.injector.is_bad_record(r.source_id)}
    assert bad and len([e for r in ours for e in r.errors]) >= len(bad) // 2


def test_a_declarative_tout_toulouse_over_http_and_a_wrong_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_TEST_TT_TOKEN", "replica-demo-token")
    with ReplicaCluster(7, 100, ports={}, platforms=("tout_toulouse",)) as cluster:
        config = replace(config_of(TOUT_TOULOUSE, "tout_toulouse"),
                         base_url=cluster.urls["tout_toulouse"])
        home = tmp_path / "home"
        [report] = crawl_sources([config], home, poll_seconds=0.1)
        assert report.run.status == "complete", report.run.message
        with Catalog.in_home(home) as catalog:
            got = {i["source_id"]: i for i in catalog.listings(source="tout_toulouse")}
        assert got == {i["source_id"]: i
                       for i in cluster.platforms["tout_toulouse"].expected_listings()}
        monkeypatch.setenv("AGORA_TEST_TT_TOKEN", "stolen")
        wrong = replace(config_of(TOUT_TOULOUSE, "tout_toulouse"),
                        base_url=cluster.urls["tout_toulouse"])
        [refused] = crawl_sources([wrong], home, poll_seconds=0.1)
        assert refused.run.status == "failed" and "401" in (refused.run.message or "")
        with Catalog.in_home(home) as catalog:  # a failed run marks nothing gone
            assert catalog.count_listings("tout_toulouse") == len(got)


GEOLOCAL31 = """\
sources:
  geolocal31:
    name: Géo'local31 (declarative)
    connector: geojson
    base_url: http://api.test
    extract:
      endpoint: /api/commerces
      bbox: [0.44, 42.69, 2.05, 43.92]
      fields:
        url: {path: "id || properties.id", transform: [{prefix: /commerce/}]}
        name: "properties.enseigne || properties.nom"
        address: properties.adresse
        postcode: properties.code_postal
        city: properties.commune
        phone: properties.telephone
        website: properties.site_web
        siret: properties.siret
        categories: "[properties.activite]"
        services: properties.services
        opening_hours: properties.horaires
"""


def test_geojson_config_tiles_geolocal31_like_its_connector() -> None:
    config = config_of(GEOLOCAL31, "geolocal31")
    platform = Geolocal31(World.generate(5, 250), faults=FaultProfile(bad_records=0.05))
    platform.cap = 20  # force the quadtree to split
    platform.base_url = BASE
    client = make_client(config, transport=httpx.WSGITransport(app=platform.wsgi()))
    results = list(registry.resolve(config).load()(config, client).pages())
    assert listings_of(results, platform.key) == {i["source_id"]: i
                                              for i in platform.expected_listings()}
    assert len(results) > 4 and not any(r.failed for r in results)
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert len([e for r in results for e in r.errors]) == len(bad) > 0


DANS_MA_ZONE = r"""
sources:
  dansmazone:
    name: Dans Ma Zone (declarative)
    connector: sitemap_jsonld
    base_url: http://x
    concurrency: 8
    extract:
      syntaxes: [json-ld]
      complete: "<!-- dmz:fin-de-page -->"
      pages:
        - match: "^/commerce/\\d+"
          kind: shop
          fields:
            source_id: {from_url: '/commerce/(\d+)', transform: [{prefix: commerce-}]}
            name: name
            postcode: address.postalCode
            city: address.addressLocality
            phone: telephone
        - match: "^/produit/\\d+"
          kind: product
          types: [Product]
          fields:
            source_id: {from_url: '/produit/(\d+)', transform: [{prefix: produit-}]}
            title: name
            price: "offers.price || offers[0].price"
            currency: "offers.priceCurrency || offers[0].priceCurrency"
            shop_source_id:
              path: 'offers.seller."@id" || offers[0].seller."@id"'
              transform: [{regex: '/commerce/(\d+)'}, {prefix: commerce-}]
"""
SUBSET = {"shop": ("kind", "source", "source_id", "url", "name", "postcode", "city", "phone"),
          "product": ("kind", "source", "source_id", "url", "title", "price", "currency",
                      "shop_source_id")}


def test_sitemap_config_reads_dans_ma_zone_json_ld(tmp_path: Path) -> None:
    with ReplicaCluster(11, 60, ports={}, platforms=("dansmazone",)) as cluster:
        platform = cluster.platforms["dansmazone"]
        platform.sitemap_size = 40
        config = replace(config_of(DANS_MA_ZONE, "dansmazone"),
                         base_url=cluster.urls["dansmazone"])
        [report] = crawl_sources([config], tmp_path / "home", poll_seconds=0.1)
        assert report.run.status == "complete", report.run.message
        with Catalog.in_home(tmp_path / "home") as catalog:
            got = {i["source_id"]: i for i in catalog.listings(source="dansmazone")}

    def subset(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k in SUBSET[item["kind"]]}

    expected = {i["source_id"]: subset(i) for i in platform.expected_listings()}
    assert {k: subset(v) for k, v in got.items()} == expected


def test_a_page_whose_json_ld_stays_broken_keeps_its_id_live() -> None:
    """As the hand-written Dans Ma Zone spider does: the id read from the URL is touched."""
    config = config_of(DANS_MA_ZONE, "dansmazone")
    cls = registry.resolve(config).load()
    spider = cls.from_crawler(get_crawler(cls), source_config=config, sink=None)
    url = "http://x/produit/10230097-confiture"
    broken = ('<html><head><script type="application/ld+json">{"@type": "Product", '
              '"name": "Confiture", "offers": {"price": 4,90}}</script></head><body>'
              "<!-- dmz:fin-de-page --></body></html>")
    first = scrapy.Request(url, meta={"rule": 1})
    [again] = list(spider.parse_rule(html_response(first, broken)))
    assert isinstance(again, scrapy.Request) and again.meta["jsonld_refetched"]
    [bad] = list(spider.parse_rule(html_response(again, broken)))
    assert not bad.failed and bad.done and bad.errors[0][:2] == (url, "invalid_record")
    assert bad.touched == ["produit-10230097"]
    assert spider.record_id("http://x/commerce/12-boulangerie") == "commerce-12"
    assert spider.record_id("http://x/mentions-legales") is None


# ---------------------------------------------------------------------- preview
def test_preview_of_an_api_source_stops_after_the_pages_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_TEST_TT_TOKEN", "replica-demo-token")
    with ReplicaCluster(7, 100, ports={}, platforms=("tout_toulouse",)) as cluster:
        config = replace(config_of(TOUT_TOULOUSE, "tout_toulouse"),
                         base_url=cluster.urls["tout_toulouse"])
        preview = preview_source(config, pages=2)
        shops = len(cluster.platforms["tout_toulouse"].world.shops_on("tout_toulouse"))
    # two pages of at most 20: the shops (fewer than 20 in this world), then products
    assert shops < 20
    assert preview.pages == 2 and preview.counts() == {"shop": shops, "product": 20}
    fill = preview.fill()
    assert fill["shop"]["name"] == shops and "shop_source_id" not in fill["shop"]
    assert fill["product"]["shop_source_id"] == 20
    data = preview.to_json()
    assert data["empty_fields"] == {kind: [n for n, c in fields.items() if c == 0]
                                    for kind, fields in fill.items()}
    sink = PreviewSink(Preview("x", "html"))
    sink.write(PageResult("u", listings=[{"kind": "shop", "source_id": "1", "lat": "north"}]))
    assert sink.preview.listings == [] and sink.preview.errors[0][1] == "invalid_listing"


# ---------------------------------------------------------------------- the html spider
CHAIN = """\
sources:
  demo:
    name: Demo
    connector: html
    base_url: http://shop.test
    retries: 1
    extract:
      start: ["/list?page=1"]
      repage_rounds: 1
      pages:
        list:
          items:
            - kind: shop
              select: li.shop
              fields: {source_id: ":scope::attr(data-id)", name: a}
          follow: [{css: "li.shop a::attr(href)", page: detail}]
          next: "a[rel=next]::attr(href)"
          total: ".total"
        detail:
          items: [{kind: shop, fields: {source_id: {from_url: '/s/(\\d+)'}, name: h1}}]
"""


def list_page(ids: list[int], total: int, next_page: int | None = None) -> str:
    """A list page; shop 99's link leads to another host."""
    shops = "".join(f'<li class="shop" data-id="{i}"><a href="'
                    f'{"http://evil.test" if i == 99 else ""}/s/{i}">Shop {i}</a></li>'
                    for i in ids)
    nxt = f'<a rel="next" href="/list?page={next_page}">suite</a>' if next_page else ""
    return (f'<html><body><p class="total">{total} boutiques</p>'
            f"<ul>{shops}</ul>{nxt}</body></html>")


def test_the_html_spider_pages_a_drifting_chain_again() -> None:
    config = config_of(CHAIN)
    cls = registry.resolve(config).load()
    spider = cls.from_crawler(get_crawler(cls), source_config=config, sink=None)
    requests = [spider.page_request("http://shop.test/list?page=1", "list")]
    out = list(spider.parse_page(html_response(requests[0], list_page([1, 2, 99], 5, 2))))
    results = [o for o in out if isinstance(o, PageResult)]
    followed = [o.url for o in out if isinstance(o, scrapy.Request)]
    assert [item["source_id"] for item in results[0].listings] == ["1", "2", "99"]
    assert results[0].listings[0]["url"] == "http://shop.test/list?page=1"
    assert followed == ["http://shop.test/s/1", "http://shop.test/s/2",
                        "http://shop.test/list?page=2"]  # the offsite link is not followed
    page2 = next(o for o in out if isinstance(o, scrapy.Request) and "page=2" in o.url)
    out = list(spider.parse_page(html_response(page2, list_page([2, 3], 5))))
    again = [o for o in out if isinstance(o, scrapy.Request) and "list" in o.url]
    assert [r.url for r in again] == ["http://shop.test/list?page=1",
                                      "http://shop.test/list?page=2"]
    assert all(r.dont_filter and r.meta["round"] == 1 for r in again)
    list(spider.parse_page(html_response(again[0], list_page([1, 2, 99], 5, 2))))
    out = list(spider.parse_page(html_response(again[1], list_page([3, 4], 5))))
    new = [i["source_id"] for o in out if isinstance(o, PageResult) for i in o.listings]
    assert new == ["4"] and not any(isinstance(o, PageResult) and o.failed for o in out)
    assert spider.chains["http://shop.test/list?page=1"].finished


def test_the_html_spider_reports_layout_changes_and_short_chains() -> None:
    config = config_of(CHAIN)
    cls = registry.resolve(config).load()
    spider = cls.from_crawler(get_crawler(cls), source_config=config, sink=None)
    start = "http://shop.test/list?page=1"
    first = spider.page_request(start, "list")
    out = list(spider.parse_page(html_response(first, "<html><body><p>Nouveau site !</p>"
                                                      "</body></html>")))
    [result] = [o for o in out if isinstance(o, PageResult)]
    assert result.failed and result.errors[0][1] == "layout" and not result.done
    cut = list(spider.parse_page(html_response(first, "<html><body><ul><li")))
    assert isinstance(cut[0], scrapy.Request) and cut[0].meta["retry_times"] == 1
    # a chain still short after its re-paging rounds is recorded as incomplete
    spider = cls.from_crawler(get_crawler(cls), source_config=config, sink=None)
    first = spider.page_request(start, "list")
    out = list(spider.parse_page(html_response(first, list_page([2, 3], 9))))
    [again] = [o for o in out if isinstance(o, scrapy.Request) and o.dont_filter]
    out = list(spider.parse_page(html_response(again, list_page([2, 3], 9))))
    [lost] = [o for o in out if isinstance(o, PageResult) and o.failed]
    assert lost.errors[0][1] == "incomplete"
    assert "2 of 9 announced items" in lost.errors[0][2]


def test_a_next_link_to_another_host_is_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/shops":
            return products(request)
        return httpx.Response(200, json={"data": SHOPS[:3],
                                          "links": {"next": "http://evil.test/shops?p=2"}})

    results = run_api(api_config("{style: next_link, next: links.next}"), handler)
    assert results[0].failed and results[0].errors[0][1] == "offsite"
    assert "leaves the platform" in results[0].errors[0][2]
    assert listings(results)[:3] == ["s1", "s2", "s3"]
