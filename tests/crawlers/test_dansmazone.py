"""The Dans Ma Zone spider: JSON-LD mapping and callbacks (real crawls: the platform contract)."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import scrapy
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure
from werkzeug.test import Client

from crawlers.errors import InvalidJsonLd, InvalidRecord, SourceLayoutChanged
from crawlers.listing import PageResult, validate_listing
from crawlers.parsing.schema_org import jsonld_objects
from crawlers.source import SourceConfig
from crawlers.spiders.dansmazone import (
    FOOTER_MARKER,
    DansMaZoneSpider,
    page_is_complete,
    product_listing,
    rubrique_from_breadcrumb,
    shop_listing,
    source_id_for,
)
from replicas.platforms.dansmazone import DansMaZone
from replicas.world import World
from tests.crawlers.conftest import html_response

KEY = "dansmazone"
BASE = "http://dmz.test"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def page(*blocks: Any, end: bool = True) -> str:
    scripts = "".join(f'<script type="application/ld+json">{b if isinstance(b, str) else json.dumps(b)}'
                      "</script>" for b in blocks)
    tail = f"<footer>©</footer>{FOOTER_MARKER}</body></html>" if end else "<div class=\"<"
    return f"<!DOCTYPE html><html><head>{scripts}</head><body><h1>x</h1>{tail}"


def urlset(*locs: str) -> bytes:
    urls = "".join(f"<url><loc>{loc}</loc><lastmod>2026-01-05</lastmod></url>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}>{urls}</urlset>'.encode()


# ---------------------------------------------------------------------- URLs
def test_source_ids_come_from_the_url() -> None:
    assert source_id_for("http://a/commerce/1023-boulangerie-martin") == "commerce-1023"
    assert source_id_for("http://a/produit/10230097-l-etranger") == "produit-10230097"
    assert source_id_for("http://a/commerce/1023") == "commerce-1023"
    assert source_id_for("http://a/mentions-legales") is None
    assert source_id_for("http://a/commerce/abc") is None


# ---------------------------------------------------------------------- JSON-LD
BUSINESS = {
    "@context": "https://schema.org", "@type": "Bakery",
    "@id": f"{BASE}/commerce/1023-boulangerie-martin#business",
    "name": "Boulangerie Martin SARL", "url": f"{BASE}/commerce/1023-boulangerie-martin",
    "address": {"@type": "PostalAddress", "streetAddress": "12 bis r. de Metz",
                "postalCode": "31000", "addressLocality": "TOULOUSE", "addressCountry": "FR"},
    "geo": {"@type": "GeoCoordinates", "latitude": "43.6047", "longitude": 1.4442},
    "telephone": "+33 5 61 22 33 44", "email": "contact@martin.fr",
    "sameAs": ["https://www.martin.fr/", "https://www.facebook.com/martin"],
    "openingHours": ["Tu-Sa 09:30-12:30", "Tu-Sa 14:00-19:00"],
    "identifier": {"@type": "PropertyValue", "propertyID": "SIRET", "value": "842 816 506 00013"},
    "keywords": "Alimentation > Boulangerie",
    "amenityFeature": [
        {"@type": "LocationFeatureSpecification", "name": "Retrait en magasin", "value": True},
        {"@type": "LocationFeatureSpecification", "name": "Livraison à domicile",
         "value": False}],
    "description": "Boulangerie-Pâtisserie à Toulouse.",
}
CRUMBS = {"@type": "BreadcrumbList", "itemListElement": [
    {"@type": "ListItem", "position": 4, "name": "Boulangerie Martin",
     "item": f"{BASE}/commerce/1023-boulangerie-martin"},
    {"@type": "ListItem", "position": 1, "name": "Accueil", "item": f"{BASE}/"},
    {"@type": "ListItem", "position": 3, "name": "Boulangerie",
     "item": f"{BASE}/rubriques/alimentation/boulangerie"},
    {"@type": "ListItem", "position": 2, "name": "Alimentation",
     "item": f"{BASE}/rubriques/alimentation"}]}
ORG = {"@type": "Organization", "name": "Dans Ma Zone", "url": f"{BASE}/",
       "address": {"@type": "PostalAddress", "streetAddress": "22 bd", "postalCode": "31400",
                   "addressLocality": "Toulouse"}}
SHOP_URL = f"{BASE}/commerce/1023-boulangerie-martin"


def test_shop_listing_maps_the_local_business_to_the_contract() -> None:
    assert shop_listing(SHOP_URL, jsonld_objects(page(BUSINESS))) == {
        "kind": "shop", "source_id": "commerce-1023", "url": SHOP_URL,
        "name": "Boulangerie Martin SARL", "address": "12 bis r. de Metz", "postcode": "31000",
        "city": "TOULOUSE", "lat": 43.6047, "lon": 1.4442, "phone": "+33 5 61 22 33 44",
        "email": "contact@martin.fr", "website": "https://www.martin.fr/",
        "siret": "842 816 506 00013", "categories": ["Alimentation > Boulangerie"],
        "services": ["Retrait en magasin"],
        "opening_hours": "Tu-Sa 09:30-12:30; Tu-Sa 14:00-19:00",
        "description": "Boulangerie-Pâtisserie à Toulouse.",
    }


def test_shop_listing_in_a_graph_takes_the_rubrique_from_the_breadcrumb() -> None:
    business = {k: v for k, v in BUSINESS.items()
                if k not in ("keywords", "@context", "geo", "sameAs", "identifier")}
    business["@type"] = "LocalBusiness"
    business["openingHours"] = "Mo-Sa 09:00-19:00"
    graph = {"@context": "https://schema.org", "@graph": [CRUMBS, ORG, business]}
    listing = shop_listing(SHOP_URL, jsonld_objects(page(graph)))
    assert listing["categories"] == ["Alimentation > Boulangerie"]
    assert listing["name"] == "Boulangerie Martin SARL"  # not the platform's Organization
    assert listing["opening_hours"] == "Mo-Sa 09:00-19:00"
    assert not {"lat", "lon", "website", "siret"} & set(listing)


def test_shop_listing_in_separate_blocks_and_unknown_subtypes() -> None:
    business = dict(BUSINESS, **{"@type": "CheeseShop"})  # not a schema.org type: has address
    objects = jsonld_objects(page(CRUMBS, ORG, business))
    assert shop_listing(SHOP_URL, objects)["name"] == "Boulangerie Martin SARL"
    assert rubrique_from_breadcrumb(objects) == "Alimentation > Boulangerie"


def test_shop_listing_without_a_business_is_a_layout_change() -> None:
    with pytest.raises(SourceLayoutChanged):
        shop_listing(SHOP_URL, jsonld_objects(page(CRUMBS, ORG)))


PRODUCT_URL = f"{BASE}/produit/10230097-roquefort"
PRODUCT = {
    "@context": "https://schema.org", "@type": "Product", "name": "Société - Roquefort AOP 100 g",
    "brand": {"@type": "Brand", "name": "Société"}, "gtin13": "3101234567890",
    "description": "Roquefort.", "image": {"@type": "ImageObject",
                                           "url": "https://cdn.x/p/1.jpg"},
    "category": "Alimentation > Fromages",
    "offers": [{"@type": "Offer", "price": "4.90", "priceCurrency": "EUR",
                "availability": "http://schema.org/LimitedAvailability",
                "seller": {"@type": "LocalBusiness",
                           "@id": f"{BASE}/commerce/1023-fromagerie#business",
                           "name": "Fromagerie"}}],
}


def test_product_listing_maps_the_product_and_its_offer() -> None:
    assert product_listing(PRODUCT_URL, jsonld_objects(page(PRODUCT, CRUMBS))) == {
        "kind": "product", "source_id": "produit-10230097", "url": PRODUCT_URL,
        "title": "Société - Roquefort AOP 100 g", "brand": "Société", "gtin": "3101234567890",
        "price": "4.90", "currency": "EUR", "availability": "LimitedAvailability",
        "category": "Alimentation > Fromages", "description": "Roquefort.",
        "image_url": "https://cdn.x/p/1.jpg", "shop_source_id": "commerce-1023",
    }


@pytest.mark.parametrize("availability", ["https://schema.org/InStock",
                                          "http://schema.org/InStock", "InStock",
                                          "schema:InStock"])
def test_product_listing_variants_of_the_old_cms(availability: str) -> None:
    product = dict(PRODUCT, brand="Papillon", gtin="3101234567890", image=["https://cdn.x/2.jpg"])
    del product["gtin13"]
    product["offers"] = dict(PRODUCT["offers"][0], availability=availability)
    listing = product_listing(PRODUCT_URL, jsonld_objects(page(product)))
    assert listing["availability"] == "InStock"
    assert listing["brand"] == "Papillon" and listing["gtin"] == "3101234567890"
    assert listing["image_url"] == "https://cdn.x/2.jpg"


def test_product_without_name_is_an_invalid_record_and_bad_json_does_not_parse() -> None:
    nameless = {k: v for k, v in PRODUCT.items() if k != "name"}
    with pytest.raises(InvalidRecord):
        product_listing(PRODUCT_URL, jsonld_objects(page(nameless)))
    broken = json.dumps(PRODUCT).replace('"price": "4.90"', '"price": 4,90')
    with pytest.raises(InvalidJsonLd):
        jsonld_objects(page(broken))
    with pytest.raises(SourceLayoutChanged):
        product_listing(PRODUCT_URL, jsonld_objects(page(CRUMBS)))


def test_page_is_complete_needs_the_footer_marker_then_the_end() -> None:
    assert page_is_complete(page(PRODUCT))
    assert not page_is_complete(page(PRODUCT, end=False))
    assert not page_is_complete(page(PRODUCT)[:-30])


def test_every_replica_page_parses_to_its_expected_listing() -> None:
    platform = DansMaZone(World.generate(seed=23, shops=150))
    client = Client(platform.wsgi())
    expected = {item["source_id"]: item for item in platform.expected_listings()}
    for record in platform.records:
        url = platform.base_url + record.fields["url"]
        body = client.get(record.fields["url"]).get_data(as_text=True)
        assert page_is_complete(body)
        extract = shop_listing if record.kind == "shop" else product_listing
        listing = validate_listing({**extract(url, jsonld_objects(body)), "source": KEY})
        assert listing == expected[record.source_id]


# ---------------------------------------------------------------------- callbacks
def spider(retries: int = 2, **options: Any) -> DansMaZoneSpider:
    config = SourceConfig(key=KEY, name="Dans Ma Zone", connector=KEY, base_url=BASE,
                          retries=retries, options=options)
    crawler = get_crawler(DansMaZoneSpider)
    return DansMaZoneSpider.from_crawler(crawler, source_config=config, sink=None)


def response(url: str, body: str | bytes, meta: dict[str, Any] | None = None) -> Response:
    return html_response(scrapy.Request(url, meta=meta or {}), body)


def test_robots_lead_to_the_sitemaps_or_to_the_default_index() -> None:
    s = spider()
    out = list(s.parse_robots(response(f"{BASE}/robots.txt",
                                       f"Sitemap: {BASE}/sm.xml\nSitemap: http://evil/x.xml\n")))
    assert [r.url for r in out] == [f"{BASE}/sm.xml"]
    out = list(s.parse_robots(response(f"{BASE}/robots.txt", "User-agent: *\n")))
    assert [r.url for r in out] == [f"{BASE}/sitemap_index.xml"]
    [fallback] = list(s.robots_failed(Failure(ConnectionRefusedError("refused"))))
    assert fallback.url == f"{BASE}/sitemap_index.xml"
    s = spider(sitemap_index="/plan/index.xml")
    [fallback] = list(s.robots_failed(Failure(ConnectionRefusedError("refused"))))
    assert fallback.url == f"{BASE}/plan/index.xml"


def test_a_gzip_sitemap_yields_listing_pages_of_the_same_host_only() -> None:
    s = spider()
    body = gzip.compress(urlset(f"{BASE}/commerce/1-a", f"{BASE}/produit/10010001-b",
                                f"{BASE}/mentions-legales", "http://elsewhere/produit/2-c"))
    out = list(s.parse_sitemap(response(f"{BASE}/sitemaps/produits-1.xml.gz", body)))
    assert [(r.url, r.callback.__name__) for r in out] == [
        (f"{BASE}/commerce/1-a", "parse_shop"), (f"{BASE}/produit/10010001-b", "parse_product")]
    stats = s.crawler.stats
    assert stats.get_value(f"{KEY}/offsite_skipped") == 1
    assert stats.get_value(f"{KEY}/other_pages_skipped") == 1
    assert s.offsite_stats() == {"followed": 3, "skipped": {"elsewhere:80": 1}}
    [report] = list(s.offsite_report())  # counted per host, recorded with the run
    assert report.errors[0][:2] == ("http://elsewhere/produit/2-c", "offsite_skipped")
    assert "1 link(s) or sitemap entries on elsewhere:80" in report.errors[0][2]


def test_a_cut_sitemap_is_retried_then_recorded_as_lost() -> None:
    s = spider(retries=1)
    cut = gzip.compress(urlset(*(f"{BASE}/produit/{i}-x" for i in range(50))))[:200]
    url = f"{BASE}/sitemaps/produits-1.xml.gz"
    [retry] = list(s.parse_sitemap(response(url, cut)))
    assert isinstance(retry, scrapy.Request) and retry.dont_filter
    [lost] = list(s.parse_sitemap(response(url, cut, meta={"retry_times": 1})))
    assert isinstance(lost, PageResult) and lost.failed and lost.errors[0][1] == "malformed"


def test_page_callbacks_retry_cut_pages_and_record_broken_records() -> None:
    s = spider()
    good = list(s.parse_product(response(PRODUCT_URL, page(PRODUCT))))
    assert len(good) == 1 and good[0].done and good[0].listings[0]["price"] == "4.90"
    [retry] = list(s.parse_product(response(PRODUCT_URL, page(PRODUCT, end=False))))
    assert isinstance(retry, scrapy.Request) and retry.meta["retry_times"] == 1

    broken = page(json.dumps(PRODUCT).replace('"price": "4.90"', '"price": 4,90'))
    [again] = list(s.parse_product(response(PRODUCT_URL, broken)))
    assert isinstance(again, scrapy.Request) and again.meta["jsonld_refetched"]
    [bad] = list(s.parse_product(response(PRODUCT_URL, broken, again.meta)))
    assert not bad.failed and bad.done and bad.touched == ["produit-10230097"]
    assert bad.errors[0][:2] == (PRODUCT_URL, "invalid_record")

    nameless = page({k: v for k, v in PRODUCT.items() if k != "name"})
    [bad] = list(s.parse_product(response(PRODUCT_URL, nameless)))
    assert bad.errors[0][1] == "invalid_record" and not bad.failed

    [lost] = list(s.parse_shop(response(SHOP_URL, page(CRUMBS))))
    assert lost.failed and lost.errors[0][1] == "layout"
