"""The Ma Ville Mon Shopping replica: microdata cards, JSON catalogue, presence, truth, epochs."""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import pytest
from extruct.w3cmicrodata import MicrodataExtractor
from parsel import Selector
from werkzeug.test import Client

from crawlers.listing import validate_listing
from normalizer.listing import normalize_listing
from replicas.faults import FaultProfile
from replicas.geo import COMMUNES_BY_NAME
from replicas.platforms.mavillemonshopping import (
    BAD_ID_BASE,
    FOOTER,
    KEY,
    OFFER_RATE,
    SHOP_RATE,
    MaVilleMonShopping,
    spaced_siret,
)
from replicas.world import World

SEED = 7


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(SEED, 400)


@pytest.fixture(scope="module")
def platform(world: World) -> MaVilleMonShopping:
    return MaVilleMonShopping(world)


def text(client: Client, url: str, **environ: object) -> str:
    response = client.get(url, environ_overrides=environ)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def walk_list(client: Client) -> tuple[list[Selector], list[int]]:
    """Every card of /boutiques by its rel=next links, and the announced totals."""
    cards, totals, url = [], [], "/boutiques?page=1"
    while url:
        page = text(client, url)
        assert page.rstrip().endswith("</html>") and FOOTER in page
        sel = Selector(text=page)
        totals.append(int(sel.css(".compteur strong::text").get()))
        cards += sel.css("article.carte-boutique")
        url = sel.css("a[rel=next]::attr(href)").get()
    return cards, totals


# ---------------------------------------------------------------------- records and truth
def test_presence_follows_the_platforms_own_rule(world: World,
                                                 platform: MaVilleMonShopping) -> None:
    shops = [r for r in platform.records if r.kind == "shop"]
    by_entity = {s.entity_id: s for s in world.shops}
    zones = Counter(COMMUNES_BY_NAME[by_entity[r.entity_id].commune].zone for r in shops)
    assert set(zones) <= {"toulouse", "metro"} and zones["toulouse"] > 0
    eligible = [s for s in world.open_shops()
                if COMMUNES_BY_NAME[s.commune].zone in ("toulouse", "metro")]
    assert 0.5 * SHOP_RATE < len(shops) / len(eligible) < 1.5 * SHOP_RATE
    listed_shops = {by_entity[r.entity_id].index for r in shops}
    offers = [o for o in world.offers if o.is_open and o.shop in listed_shops]
    products = [r for r in platform.records if r.kind == "product"]
    assert 0.75 * OFFER_RATE < len(products) / len(offers) <= 1.0
    assert not world.shops_on(KEY)  # the world's own PRESENCE table knows nothing of it


def test_independent_shops_are_listed_here_and_nowhere_else(world: World,
                                                            platform: MaVilleMonShopping) -> None:
    independents = {s.entity_id for s in world.open_shops() if s.independent}
    assert independents, "the world should have shops none of the five lists"
    assert all(not s.platforms for s in world.shops if s.entity_id in independents)
    listed = {r.entity_id for r in platform.records if r.kind == "shop"}
    assert independents <= listed
    assert len(listed - independents) > len(independents) / 2  # it also lists shared shops


def test_truth_has_one_row_per_record_with_unique_ids(world: World,
                                                      platform: MaVilleMonShopping) -> None:
    truth = list(platform.truth())
    assert len(truth) == len(platform.records)
    assert len({row[2] for row in truth}) == len(truth)  # unique across shops and products
    offers = {o.entity_id: o for o in world.offers}
    shops = {s.entity_id: s for s in world.shops}
    sid_of_shop = {r.entity_id: r.source_id for r in platform.records if r.kind == "shop"}
    for record in platform.records:
        if record.kind == "shop":
            assert record.entity_id in shops and record.source_id.startswith("boutique-")
        else:
            offer = offers[record.entity_id]
            assert record.fields["shop_source_id"] == sid_of_shop[shops[f"shop:{offer.shop:05d}"]
                                                                  .entity_id]
    for item in platform.expected_listings():
        assert validate_listing(item) == item  # already a clean contract listing


def test_noise_follows_the_platform_style(platform: MaVilleMonShopping) -> None:
    shops = [r.fields for r in platform.records if r.kind == "shop"]
    assert sum("." in f["phone"] for f in shops) > len(shops) / 3  # 05.61.22.33.44 style
    assert 0.3 < sum("siret" in f for f in shops) / len(shops) < 0.85
    assert all(re.fullmatch(r"\d{3} \d{3} \d{3} \d{5}", f["siret"]) for f in shops
               if "siret" in f)
    assert 0 < sum("lat" not in f for f in shops) < len(shops) / 4
    products = [r.fields for r in platform.records if r.kind == "product"]
    assert all(re.fullmatch(r"\d+\.\d\d", f["price"]) for f in products)
    assert {f["availability"] for f in products} <= {"en stock", "stock limité", "épuisé"}
    assert spaced_siret("12345678900012") == "123 456 789 00012"


def test_the_same_world_renders_identically(world: World,
                                            platform: MaVilleMonShopping) -> None:
    again = MaVilleMonShopping(World.generate(SEED, 400))
    assert [(r.source_id, r.fields) for r in again.records] == \
        [(r.source_id, r.fields) for r in platform.records]
    assert text(Client(again.wsgi()), "/boutiques?page=2") == \
        text(Client(platform.wsgi()), "/boutiques?page=2")


def test_epoch_one_changes_some_records_and_keeps_the_others(world: World,
                                                             platform: MaVilleMonShopping
                                                             ) -> None:
    later = MaVilleMonShopping(World.generate(SEED, 400, epoch=1))
    before = {r.source_id: r.fields for r in platform.records}
    after = {r.source_id: r.fields for r in later.records}
    assert before.keys() - after.keys()  # closed shops and ended offers
    common = before.keys() & after.keys()
    changed = [k for k in common if before[k] != after[k]]
    assert 0 < len(changed) < len(common) / 4


# ---------------------------------------------------------------------- the web app
@pytest.mark.parametrize("page_size", [24, 7])
def test_list_pages_show_every_shop_once_with_microdata(world: World, page_size: int) -> None:
    platform = MaVilleMonShopping(world)
    platform.page_size = page_size
    cards, totals = walk_list(Client(platform.wsgi()))
    shops = [r for r in platform.records if r.kind == "shop"]
    assert set(totals) == {len(shops)}
    assert [c.attrib["data-id"] for c in cards] == [r.source_id for r in shops]
    record = shops[0]
    card = cards[0]
    assert card.css("h2 a::attr(href)").get() == record.fields["url"]
    assert card.attrib["data-catalogue"] == f"/api/catalogue?boutique={record.native['number']}"
    [item] = MicrodataExtractor().extract(card.get())
    assert item["type"] == "https://schema.org/Store"
    props = item["properties"]
    assert props["name"] == record.fields["name"]
    assert props["address"]["properties"]["postalCode"] == record.fields["postcode"]
    hours = props["openingHours"]
    assert "; ".join(hours if isinstance(hours, list) else [hours]) == \
        record.fields["opening_hours"]


def test_pagination_drift_shifts_the_window(world: World) -> None:
    platform = MaVilleMonShopping(world)
    platform.page_size = 5
    client = Client(platform.wsgi())
    ids = [r.source_id for r in platform.records if r.kind == "shop"]

    def page2(drift: int) -> list[str]:
        page = text(client, "/boutiques?page=2", **{"replica.drift": drift})
        return Selector(text=page).css("article.carte-boutique::attr(data-id)").getall()

    assert page2(0) == ids[5:10]
    assert page2(2) == ids[3:8]  # inserted ahead: repeats
    assert page2(-3) == ids[8:13]  # removed ahead: skips
    assert platform.classify("/boutiques") == ("html", True)


def test_the_catalogue_pages_by_key(world: World, platform: MaVilleMonShopping) -> None:
    client = Client(platform.wsgi())
    shop = max((r for r in platform.records if r.kind == "shop"),
               key=lambda r: len(platform._index.products_of[r.native["number"]]))
    expected = [r.source_id for r in platform._index.products_of[shop.native["number"]]]
    assert len(expected) > platform.catalogue_size, "needs a shop with two pages"
    refs, url = [], f"/api/catalogue?boutique={shop.native['number']}"
    while url:
        response = client.get(url)
        assert response.mimetype == "application/json"
        data = json.loads(response.get_data(as_text=True))
        assert data["boutique"]["id"] == shop.source_id and data["total"] == len(expected)
        refs += [p["ref"] for p in data["produits"]]
        url = data["suivant"]
    assert refs == expected == sorted(expected)
    item = platform._index.products[refs[0]].native["item"]
    assert isinstance(item["prix"]["centimes"], int) and item["lien"].startswith("/produit/")
    assert client.get("/api/catalogue?boutique=1").status_code == 404
    assert client.get("/api/catalogue?boutique=x").status_code == 400
    assert platform.classify("/api/catalogue") == ("json", False)


def test_public_pages(platform: MaVilleMonShopping) -> None:
    client = Client(platform.wsgi())
    shop = next(r for r in platform.records if r.kind == "shop")
    product = next(r for r in platform.records if r.kind == "product")
    page = text(client, shop.fields["url"])
    assert 'data-src-catalogue="/api/catalogue?boutique=' in page
    page = text(client, product.fields["url"])
    assert "€" in page and product.fields["shop_source_id"].split("-")[1] in page
    assert client.get("/boutique/1-nope").status_code == 404
    assert client.get("/produit/ref-0000000000-x").status_code == 404
    assert "Disallow: /panier" in text(client, "/robots.txt")
    assert platform.classify(shop.fields["url"]) == ("html", False)
    assert platform.classify("/robots.txt") is None


def test_bad_records_are_served_broken_and_not_in_the_truth(world: World) -> None:
    platform = MaVilleMonShopping(world, faults=FaultProfile(bad_records=0.1))
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert {r.kind for r in bad} == {"shop", "product"}
    client = Client(platform.wsgi())
    cards, totals = walk_list(client)
    assert totals[0] == len(cards) == sum(r.kind == "shop" for r in platform.records) + sum(
        r.kind == "shop" for r in bad)
    nameless = [c for c in cards if not c.css("h2 ::text").get()]
    assert [int(c.attrib["data-id"].split("-")[1]) for c in nameless] == [
        BAD_ID_BASE + r.native["number"] for r in bad if r.kind == "shop"]
    null_refs = 0
    for card in cards:
        url = card.attrib.get("data-catalogue")
        while url:
            data = json.loads(text(client, url))
            null_refs += sum(p["ref"] is None for p in data["produits"])
            url = data["suivant"]
    assert null_refs == sum(r.kind == "product" for r in bad)
    truth = {row[2] for row in platform.truth()}
    assert not {c.attrib["data-id"] for c in nameless} & truth


def test_layout_v2_renames_the_cards(world: World) -> None:
    platform = MaVilleMonShopping(world)
    platform.layout = "v2"
    page = Selector(text=text(Client(platform.wsgi()), "/boutiques?page=1"))
    assert not page.css("article.carte-boutique")
    cards = page.css("div.mvms-card")
    assert cards and cards[0].attrib["data-ref"].startswith("boutique-")
    assert cards[0].attrib["data-src"].startswith("/api/catalogue?boutique=")
    platform.layout = "v1"
    assert Selector(text=text(Client(platform.wsgi()), "/boutiques?page=1")).css(
        "article.carte-boutique")


def test_a_big_world_builds_and_answers_quickly() -> None:
    start = time.perf_counter()
    platform = MaVilleMonShopping(World.generate(3, 1500))
    client = Client(platform.wsgi())
    cards, _ = walk_list(client)
    for card in cards[:60]:
        assert client.get(card.attrib["data-catalogue"]).status_code == 200
    assert len(cards) > 150 and time.perf_counter() - start < 5.0


def test_its_listings_go_through_the_normalizer_like_the_others(
        platform: MaVilleMonShopping) -> None:

    cleaned = [normalize_listing(item) for item in platform.expected_listings()]
    shops = [c for c in cleaned if c.kind == "shop"]
    assert shops and all(c.categories for c in shops)  # its labels map to the taxonomy
    assert all(c.phone and c.phone.startswith("+") for c in shops)  # E.164 from any style
    assert all(c.siret is None or len(c.siret) == 14 for c in shops)
