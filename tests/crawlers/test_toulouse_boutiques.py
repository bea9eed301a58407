"""The Toulouse Boutiques spider: parsing helpers, drift-proof paging (real crawls: the contract)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import scrapy
from protego import Protego
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from werkzeug.test import Client

from crawlers.listing import PageResult
from crawlers.scrapy_support import scrapy_settings
from crawlers.spiders.toulouse_boutiques import (
    ToulouseBoutiquesSpider,
    page_is_complete,
    parse_category,
    parse_home,
    parse_product,
    parse_shop,
    parse_total,
    product_id,
    shop_slug,
    split_address,
)
from replicas.platforms.toulouse_boutiques import ToulouseBoutiques
from replicas.world import World
from tests.crawlers.conftest import repository_config

KEY = "toulouse_boutiques"
BASE = "http://tb.test"
DISALLOWED = re.compile(r"^/(panier|compte|recherche)|^/boutique/[^/]+/avis")


# --------------------------------------------------------------------------- pure helpers
@pytest.mark.parametrize(("line", "expected"), [
    ("12 bis r. de Metz, 31000 Toulouse", ("12 bis r. de Metz", "31000", "Toulouse")),
    ("12B rue de Metz, 31000 Toulouse", ("12B rue de Metz", "31000", "Toulouse")),
    ("3 av. St-Exupéry, 31400 Toulouse", ("3 av. St-Exupéry", "31400", "Toulouse")),
    ("Marché des Carmes, place des Carmes, 31000 Toulouse",
     ("Marché des Carmes, place des Carmes", "31000", "Toulouse")),
    ("  7  ALLÉES JEAN JAURÈS,  31000   Toulouse ", ("7 ALLÉES JEAN JAURÈS", "31000", "Toulouse")),
    ("5 place du Marché, 31650 Saint-Orens-de-Gameville",
     ("5 place du Marché", "31650", "Saint-Orens-de-Gameville")),
    ("31320 Castanet-Tolosan", (None, "31320", "Castanet-Tolosan")),
    ("Lieu-dit Borde Blanche", ("Lieu-dit Borde Blanche", None, None)),
    ("", (None, None, None)),
    (None, (None, None, None)),
])
def test_split_address(line: str | None, expected: tuple) -> None:
    assert split_address(line) == expected


def test_split_address_matches_every_record() -> None:
    platform = ToulouseBoutiques(World.generate(5, 400))
    for record in platform.records:
        if record.kind == "shop":
            f = record.fields
            assert split_address(record.native["address_line"]) == (
                f["address"], f["postcode"], f["city"])


@pytest.mark.parametrize(("text", "total"), [
    ("53 boutiques", 53), ("1 boutique", 1), ("0 boutique", 0), ("1 204 boutiques", 1204),
    ("Boutiques", None), (None, None),
])
def test_parse_total(text: str | None, total: int | None) -> None:
    assert parse_total(text) == total


def test_url_helpers() -> None:
    assert shop_slug("http://x/boutique/la-mie-rose-toulouse") == "la-mie-rose-toulouse"
    assert shop_slug("http://x/boutique/la-mie-rose-toulouse/avis") is None
    assert shop_slug("http://x/produit/12-a") is None
    assert product_id("http://x/produit/100123-pain-de-campagne-1kg") == "100123"
    assert product_id("http://x/panier/ajouter?produit=100123") is None


def test_page_is_complete_spots_pages_cut_short() -> None:
    page = ToulouseBoutiques(World.generate(5, 40))
    html = Client(page.wsgi()).get("/").get_data(as_text=True)
    assert page_is_complete(html)
    for share in (0.3, 0.5, 0.7, 0.99):
        cut = html[: int(len(html) * share)]
        assert not page_is_complete(cut)
        assert not page_is_complete(cut.replace("</div>", "</dvi>") + '<div class="<')
    assert not page_is_complete("<html><body><h1>Erreur serveur</h1></body></html>")


@pytest.fixture(scope="module")
def small() -> tuple[ToulouseBoutiques, Client]:
    platform = ToulouseBoutiques(World.generate(7, 150))
    platform.base_url = BASE
    return platform, Client(platform.wsgi())


def test_parsers_extract_exactly_the_expected_listings(small: tuple) -> None:
    platform, client = small
    expected = {item["source_id"]: item for item in platform.expected_listings()}
    product_links: dict[str, list[str]] = {}
    for record in platform.records:
        url = BASE + record.fields["url"]
        html = client.get(record.fields["url"]).get_data(as_text=True)
        if record.kind == "shop":
            page = parse_shop(html, url)
            assert page.error is None
            listing = page.listing
            product_links[record.source_id] = page.products
        else:
            listing, error = parse_product(html, url)
            assert error is None
        assert {"source": KEY, **listing} == expected[record.source_id]
    for record in platform.records:
        if record.kind == "product":
            assert BASE + record.fields["url"] in product_links[record.fields["shop_source_id"]]


def test_parse_home_and_category(small: tuple) -> None:
    platform, client = small
    categories = parse_home(client.get("/").get_data(as_text=True), BASE + "/")
    assert categories and all(re.fullmatch(BASE + r"/categorie/[a-z0-9-]+", c)
                              for c in categories)
    cat, (label, entries) = max(platform._index.categories.items(),
                                key=lambda kv: len(kv[1][1]))
    page = parse_category(client.get(f"/categorie/{cat}").get_data(as_text=True),
                          f"{BASE}/categorie/{cat}")
    assert page.total == len(entries)
    assert page.shops == [f"{BASE}/boutique/{e.slug}" for e in entries[:20]]
    assert page.next_url is None  # fewer than 20


def test_parse_shop_reports_a_page_without_a_name(small: tuple) -> None:
    _, client = small
    html = client.get("/boutique/inconnue").get_data(as_text=True)
    page = parse_shop(html, BASE + "/boutique/inconnue")
    assert page.listing is None and page.error
    broken = ('<html><body><main><article class="fiche-boutique"><h1> </h1>'
              '<p class="adresse">1 rue X, 31000 Toulouse</p></article></main>'
              '<footer id="pied"></footer></body></html>')
    page = parse_shop(broken, BASE + "/boutique/x")
    assert page.listing is None and page.error == "shop page without a name"


def test_robots_txt_blocks_every_disallowed_link_the_pages_carry(small: tuple) -> None:
    platform, client = small
    agent = repository_config(KEY, BASE).agent
    robots = Protego.parse(client.get("/robots.txt").get_data(as_text=True))
    shop = next(r for r in platform.records if r.kind == "shop"
                and platform._index.products_of[r.source_id])
    product = platform._index.products_of[shop.source_id][0]
    pages = ["/", f"/categorie/{next(iter(platform._index.categories))}", shop.fields["url"],
             product.fields["url"]]
    hrefs = set()
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        hrefs |= set(re.findall(r'(?:href|action)="(/[^"]*)"', html))
    blocked = {h for h in hrefs if DISALLOWED.match(h)}
    assert {h.split("?")[0].split("/")[1] for h in blocked} >= {"panier", "compte", "recherche"}
    assert any(h.endswith("/avis") for h in blocked)
    for href in hrefs:
        allowed = robots.can_fetch(BASE + href.replace("&amp;", "&"), agent)
        assert allowed == (not DISALLOWED.match(href)), href


# --------------------------------------------------------------------------- paging logic
def _spider(**options: Any) -> ToulouseBoutiquesSpider:
    config = repository_config(KEY, BASE, options=options)
    crawler = get_crawler(ToulouseBoutiquesSpider, scrapy_settings(config))
    return ToulouseBoutiquesSpider.from_crawler(crawler, source_config=config, sink=None)


def _drive_category(spider: ToulouseBoutiquesSpider, client: Client, cat: str,
                    drift: Callable[[str, int], int]) -> tuple[list[scrapy.Request],
                                                              list[PageResult]]:
    """Run one category through the spider, serving pages from the replica app."""
    queue = [spider.page_request(f"{BASE}/categorie/{cat}", "category")]
    asked: Counter[str] = Counter()
    category_requests: list[scrapy.Request] = []
    results: list[PageResult] = []
    while queue:
        request = queue.pop(0)
        category_requests.append(request)
        path = request.url.removeprefix(BASE)
        answer = client.get(path, environ_overrides={
            "replica.drift": drift(path, asked[path])})
        asked[path] += 1
        response = HtmlResponse(url=request.url, body=answer.data, encoding="utf-8",
                                request=request)
        for out in request.callback(response):
            if isinstance(out, scrapy.Request) and out.meta["page"] == "category":
                queue.append(out)
            elif isinstance(out, PageResult):
                results.append(out)
    return category_requests, results


def _shops_requested(spider: ToulouseBoutiquesSpider) -> list[str]:
    return sorted(url for url in spider.requested if "/boutique/" in url)


def _big_category(platform: ToulouseBoutiques) -> tuple[str, list[str]]:
    cat, (_, entries) = max(platform._index.categories.items(), key=lambda kv: len(kv[1][1]))
    return cat, [f"{BASE}/boutique/{e.slug}" for e in entries]


def test_drift_is_detected_and_the_category_paged_again(small: tuple) -> None:
    platform, client = small
    platform.page_size = 2
    try:
        cat, shops = _big_category(platform)
        assert len(shops) >= 5
        spider = _spider()
        # page 2 loses two shops ahead of it the first time it is asked, page 3 gains one
        drifts = {f"/categorie/{cat}?page=2": -2, f"/categorie/{cat}?page=3": 1}
        requests, results = _drive_category(
            spider, client, cat, lambda path, n: drifts.get(path, 0) if n == 0 else 0)
        assert _shops_requested(spider) == sorted(shops)
        assert not results
        first = [r for r in requests if r.meta["round"] == 0]
        again = [r for r in requests if r.meta["round"] == 1]
        assert len(first) == len(again) == -(-len(shops) // 2)
        assert all(r.dont_filter for r in again)
        assert not [r for r in requests if r.meta["round"] > 1]
    finally:
        platform.page_size = 20


def test_no_drift_no_second_round(small: tuple) -> None:
    platform, client = small
    cat, shops = _big_category(platform)
    spider = _spider()
    requests, results = _drive_category(spider, client, cat, lambda path, n: 0)
    assert len(requests) == 1 and not results
    assert _shops_requested(spider) == sorted(shops)


def test_a_category_that_never_adds_up_is_recorded_and_lost(small: tuple) -> None:
    platform, client = small
    cat, shops = _big_category(platform)
    spider = _spider(max_repage_rounds=2)
    requests, results = _drive_category(spider, client, cat, lambda path, n: -1)
    assert len(requests) == 3  # the first pass and two more
    [lost] = results
    assert lost.failed and lost.errors[0][1] == "incomplete"
    assert len(_shops_requested(spider)) == len(shops) - 1


def test_a_page_cut_short_is_retried(small: tuple) -> None:
    _, client = small
    spider = _spider()
    url = f"{BASE}/"
    request = spider.page_request(url, "home")
    html = client.get("/").data
    response = HtmlResponse(url=url, body=html[: len(html) // 2], encoding="utf-8",
                            request=request)
    [retry] = list(spider.parse_page(response))
    assert isinstance(retry, scrapy.Request) and retry.dont_filter
    assert retry.meta["retry_times"] == 1 and retry.meta["page"] == "home"
    response = HtmlResponse(url=url, body=html[: len(html) // 2], encoding="utf-8",
                            request=retry.replace(meta={**retry.meta, "retry_times": 5}))
    [lost] = list(spider.parse_page(response))
    assert lost.failed and lost.errors[0][1:] == ("malformed", "home page cut short")
