"""The normalizer against the replica platforms: every platform's listing of one real
shop or offer must give the same matching values, and those of the truth."""

from collections import defaultdict

import pytest

from crawlers.listing import validate_listing
from normalizer import CleanProduct, CleanShop, normalize_listing
from normalizer.hours import normalize_hours
from normalizer.products import normalize_title
from replicas import noise
from replicas.platforms.clickandco import ClickAndCo
from replicas.platforms.dansmazone import DansMaZone
from replicas.platforms.geolocal31 import Geolocal31
from replicas.platforms.toulouse_boutiques import ToulouseBoutiques
from replicas.platforms.tout_toulouse import ToutToulouse
from replicas.world import World

PLATFORMS = (Geolocal31, ClickAndCo, DansMaZone, ToulouseBoutiques, ToutToulouse)


@pytest.fixture(scope="module")
def normalized() -> tuple[World, dict[str, list[CleanShop | CleanProduct]]]:
    world = World.generate(seed=5, shops=300)
    by_entity: dict[str, list[CleanShop | CleanProduct]] = defaultdict(list)
    for cls in PLATFORMS:
        platform = cls(world)
        for record, item in zip(platform.records, platform.expected_listings(), strict=True):
            by_entity[record.entity_id].append(normalize_listing(validate_listing(item)))
    return world, by_entity


def test_shops_agree_with_the_truth(normalized: tuple) -> None:
    world, by_entity = normalized
    for shop in world.shops:
        expected_hours = normalize_hours(noise.hours_osm(shop.hours))
        for c in by_entity.get(shop.entity_id, []):
            assert isinstance(c, CleanShop)
            assert not [f for f in c.flags if f.code != "unverified_phone"], c.flags
            assert c.categories == (shop.trade,)
            if c.raw.get("services"):
                assert c.services == tuple(sorted(shop.services)), (c.source, c.raw["services"])
            if c.opening_hours:
                assert c.opening_hours == expected_hours, (c.source, c.raw["opening_hours"])
            assert c.postcode == shop.postcode
            if c.street_number:
                assert (c.street_number, c.street_suffix) == (str(shop.number),
                                                              shop.number_suffix)
            if c.siret:
                assert c.siret == shop.siret
            if c.phone and not c.phone.startswith(("+262", "+59")):
                assert c.phone == "+33" + shop.phone[1:]


@pytest.mark.parametrize("field", ["address_key", "street_key", "city_key", "phone",
                                   "website_host", "email", "opening_hours", "legal_form"])
def test_platforms_agree_on_a_shop(normalized: tuple, field: str) -> None:
    _, by_entity = normalized
    for entity, cleans in by_entity.items():
        if entity.startswith("shop:"):
            values = {getattr(c, field) for c in cleans} - {None}
            assert len(values) <= 1, (entity, field, values)


def test_platforms_agree_on_a_name_but_for_typos(normalized: tuple) -> None:
    _, by_entity = normalized
    total = disagree = 0
    for entity, cleans in by_entity.items():
        if entity.startswith("shop:") and len(cleans) > 1:
            total += 1
            disagree += len({c.name_key for c in cleans}) > 1
    assert disagree <= total * 0.05  # the replicas slip a typo into a few names


def test_offers_agree(normalized: tuple) -> None:
    world, by_entity = normalized
    offers = {o.entity_id: o for o in world.offers}
    for entity, cleans in by_entity.items():
        if not entity.startswith("offer:"):
            continue
        offer = offers[entity]
        product = world.products[offer.product]
        assert len({c.variant for c in cleans}) == 1, [c.title for c in cleans]
        for c in cleans:
            assert isinstance(c, CleanProduct)
            assert not c.flags, c.flags
            assert c.availability == offer.availability
            assert c.category in (None, product.trade)
            assert c.gtin in (None, product.gtin)
            assert c.price_cents and c.currency == "EUR"


def test_products_of_one_family_have_distinct_variants() -> None:
    world = World.generate(seed=5, shops=50)
    families: dict[int, set] = defaultdict(set)
    count: dict[int, int] = defaultdict(int)
    for product in world.products:
        families[product.family].add(normalize_title(product.title).variant)
        count[product.family] += 1
    assert all(len(families[f]) == count[f] for f in families)
