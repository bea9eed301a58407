"""Comparisons: each level of each field, on small hand-made records."""

from __future__ import annotations

import pytest

from dedup import comparisons as cmp
from dedup.features import ProductFeatures, ShopFeatures, TokenStats, model_codes
from dedup.settings import load_settings

S = load_settings()


def shop(**kw: object) -> ShopFeatures:
    base = dict(key="a:1", source="a", name_key="boulangerie martin",
                name_tokens=("boulangerie", "martin"), street_key="rue metz", number="12",
                postcode="31000", city_key="toulouse", phone=None, siret=None, siren=None,
                website=None, email=None, lat=None, lon=None, categories=frozenset())
    base.update(kw)
    if "name_key" in kw and "name_tokens" not in kw:
        base["name_tokens"] = tuple(str(kw["name_key"]).split())
    return ShopFeatures(**base)  # type: ignore[arg-type]


def product(**kw: object) -> ProductFeatures:
    base = dict(key="a:p1", source="a", shop_key="a:1", title_key="roquefort aop 100g",
                title_tokens=("roquefort", "aop", "100g"), core_tokens=("roquefort", "aop"),
                variant=(("size", "100g"),),
                brand_key=None, gtin=None, price_cents=450, codes=frozenset(), category=None)
    base.update(kw)
    return ProductFeatures(**base)  # type: ignore[arg-type]


# a corpus where "boulangerie" is everywhere and surnames are rare
STATS = TokenStats([("boulangerie", f"nom{i}") for i in range(300)]
                   + [("boulangerie", "martin"), ("fenix", "argyle"), ("cave", "carmes")])


@pytest.mark.parametrize("other, level", [
    ({}, "exact"),
    ({"name_key": "boulangerie martine"}, "good"),  # one slip in the only rare word
    ({"name_key": "martin"}, "high"),  # the trade word weighs next to nothing
    ({"name_key": "fromagerie xavier"}, "different"),
    ({"name_key": None, "name_tokens": ()}, "missing"),
])
def test_name_levels(other: dict, level: str) -> None:
    assert cmp.name_level(shop(), shop(**other), STATS)[0] == level


def test_one_name_inside_the_other() -> None:
    a, b = shop(name_key="fenix"), shop(name_key="fenix argyle")
    assert cmp.name_level(a, b, STATS)[0] == "contained"


def test_the_rarest_shared_word_is_reported_for_term_frequencies() -> None:
    assert cmp.name_level(shop(), shop(), STATS) == ("exact", "martin")
    assert cmp.name_level(shop(name_key="fenix argyle"), shop(name_key="fenix"),
                          STATS)[1] in ("fenix", "argyle")


@pytest.mark.parametrize("other, level", [
    ({}, "exact"),
    ({"number": "12bis"}, "same_number_street"),
    ({"number": None}, "number_missing"),
    ({"number": "14"}, "other_number"),
    ({"street_key": "boulevard strasbourg"}, "other_street"),
    ({"postcode": "31300"}, "other_postcode"),
    ({"street_key": "rue metz sud"}, "exact"),  # one street name inside the other
])
def test_address_levels(other: dict, level: str) -> None:
    assert cmp.address_level(shop(), shop(**other)) == level


def test_siret_levels_keep_a_chain_apart() -> None:
    a = shop(siret="84281650600013", siren="842816506")
    assert cmp.siret_level(a, a) == "same"
    chain = shop(siret="84281650600021", siren="842816506")
    assert cmp.siret_level(a, chain) == "same_siren_other_siret"
    other = shop(siret="73282932000074", siren="732829320")
    assert cmp.siret_level(a, other) == "other_siren"
    assert cmp.siret_level(a, shop()) == cmp.MISSING
    # a registry gives the SIRET, another platform only the company's SIREN
    assert cmp.siret_level(a, shop(siren="842816506")) == "same_siren"
    assert cmp.siret_level(a, shop(siren="732829320")) == "other_siren"


GEO_BANDS = cmp.band_limits(S.shops.comparison("geo").level_names)[0]


def test_geo_bands() -> None:
    a = shop(lat=43.6045, lon=1.4440)
    assert cmp.geo_level(a, shop(lat=43.6046, lon=1.4441), GEO_BANDS) == "within_40m"
    assert cmp.geo_level(a, shop(lat=43.70, lon=1.60), GEO_BANDS) == "beyond"
    assert cmp.geo_level(a, shop(), GEO_BANDS) == cmp.MISSING


def test_geo_is_not_counted_again_when_the_street_agrees() -> None:
    a, b = shop(lat=43.6045, lon=1.4440), shop(lat=43.6046, lon=1.4441)
    assert cmp.geo_level(a, b, GEO_BANDS, "exact") == "by_address"
    assert cmp.geo_level(a, b, GEO_BANDS, "other_street") == "within_40m"
    far = shop(lat=43.70, lon=1.60)
    assert cmp.geo_level(a, far, GEO_BANDS, "exact") == "beyond"  # still hard


def test_city_compared_only_without_postcodes() -> None:
    a, b = shop(postcode=None), shop(postcode=None, city_key="new york city")
    assert cmp.city_level(a, shop(postcode=None, city_key="toulouse")) == "same"
    assert cmp.city_level(shop(postcode=None, city_key="new york"), b) == "same"
    assert cmp.city_level(a, b) == "different"
    assert cmp.city_level(shop(), shop()) == "by_postcode"


def test_attributes_conflict_or_agree_and_one_sided_ones_are_neutral() -> None:
    assert cmp.variant_level(product(), product(variant=(("size", "250g"),))) == "different"
    assert cmp.variant_level(product(), product()) == "same"
    assert cmp.variant_level(product(), product(variant=(("colour", "noir"),))) == "one_sided"
    assert cmp.variant_level(product(variant=()), product()) == cmp.MISSING
    assert "one_sided" in cmp.NEUTRAL_LEVELS


@pytest.mark.parametrize("a, b, level", [
    ({"kdl40v4100"}, {"kdl40v4100"}, "same"),
    ({"p6000"}, {"coolpixp6000bk"}, "contained"),
    ({"sbv40s"}, {"pslx350h"}, "different"),
])
def test_code_levels(a: set, b: set, level: str) -> None:
    assert cmp.code_level(product(codes=frozenset(a)), product(codes=frozenset(b))) == level


@pytest.mark.parametrize("title, codes", [
    ("Sony BRAVIA KDL-40V4100 40'' LCD", {"kdl40v4100", "40v4100"}),
    ("canon powershot g10 14 megapixel", {"g10"}),
    ("Gaillac rouge 2021 75 cl", set()),
    ("Clé USB 32 Go", set()),
    ("Boîte de vis bois 4x30 mm", set()),
])
def test_model_codes(title: str, codes: set) -> None:
    assert codes <= model_codes(title) if codes else model_codes(title) == frozenset()


def test_offer_price_levels_take_their_bands_from_their_names() -> None:
    within, beyond = cmp.band_limits(S.offers.comparison("price").level_names)
    a = product(price_cents=1000)

    def level(cents: int) -> str:
        return cmp.price_level(a, product(price_cents=cents), within, beyond)

    assert level(1010) == "within_2pct"
    assert level(1090) == "within_10pct"
    assert level(1200) == "between"
    assert level(2000) == "beyond_30pct"
    assert cmp.price_level(a, product(price_cents=None), within, beyond) == cmp.MISSING
