"""Blocking: which pairs are compared, and that common keys are skipped and reported."""

from __future__ import annotations

from dedup.blocking import (
    block_offers,
    block_products,
    block_shops,
    geo_cell,
    geo_neighbours,
    product_keys,
    shop_keys,
)
from dedup.features import ProductFeatures, ShopFeatures, TokenStats


def shop(key: str, **kw: object) -> ShopFeatures:
    base = dict(key=key, source=key.split(":")[0], name_key=None, name_tokens=(),
                street_key=None, number=None, postcode=None, city_key=None, phone=None,
                siret=None, siren=None, website=None, email=None, lat=None, lon=None,
                categories=frozenset())
    base.update(kw)
    if kw.get("name_key"):
        base["name_tokens"] = tuple(str(kw["name_key"]).split())
    return ShopFeatures(**base)  # type: ignore[arg-type]


def product(key: str, title: str, **kw: object) -> ProductFeatures:
    tokens = tuple(title.split())
    base = dict(key=key, source=key.split(":")[0], shop_key=None, title_key=title,
                title_tokens=tokens, core_tokens=tokens, variant=(), brand_key=None, gtin=None,
                price_cents=None, codes=frozenset(), category=None)
    base.update(kw)
    return ProductFeatures(**base)  # type: ignore[arg-type]


def test_shops_sharing_a_phone_an_address_or_a_rare_name_word_are_compared() -> None:
    recs = [
        shop("a:1", phone="+33561000001"),
        shop("b:1", phone="+33561000001"),
        shop("a:2", name_key="fromagerie xavier", postcode="31000"),
        shop("b:2", name_key="xavier fromages", postcode="31000"),
        shop("a:3", street_key="rue metz", number="3", postcode="31000"),
        shop("b:3", street_key="rue metz", number="3", postcode="31000"),
        shop("c:9", name_key="librairie ombres", postcode="31500"),
    ]
    # elsewhere in the territory, trade words are common and surnames rare
    stats = TokenStats([r.name_tokens for r in recs]
                       + [("fromagerie", f"nom{i}") for i in range(20)]
                       + [("fromages", f"autre{i}") for i in range(20)])
    pairs, report = block_shops(recs, stats)
    assert {(0, 1), (2, 3), (4, 5)} <= pairs
    assert not any(6 in p for p in pairs)
    assert report.records == 7 and report.candidate_pairs == len(pairs)
    assert report.reduction_ratio > 0


def test_shops_close_to_each_other_are_compared_even_without_a_shared_word() -> None:
    recs = [shop("a:1", lat=43.6045, lon=1.4440), shop("b:1", lat=43.6050, lon=1.4445),
            shop("c:1", lat=43.70, lon=1.60)]
    pairs, _ = block_shops(recs, TokenStats())
    assert pairs == {(0, 1)}


def test_a_key_shared_by_too_many_listings_is_skipped_and_reported() -> None:
    recs = [shop(f"a:{i}", website="chain.fr") for i in range(6)]
    pairs, report = block_shops(recs, TokenStats(), max_block=5)
    assert not pairs
    assert report.skipped_blocks == [("web:chain.fr", 6)]


def test_shop_keys_name_their_kind() -> None:
    r = shop("a:1", phone="+33561000001", siren="842816506", website="x.fr",
             name_key="cave carmes", postcode="31000", street_key="rue metz", number="3bis")
    keys = shop_keys(r, TokenStats([("cave", "carmes")]))
    assert "ph:+33561000001" in keys and "siren:842816506" in keys and "web:x.fr" in keys
    assert "addr:pc:31000:rue metz:3" in keys  # 3 and 3bis meet
    assert "fullname:cavecarmes" in keys


def test_geo_cells_and_their_neighbours() -> None:
    cell = geo_cell(43.6045, 1.4440)
    assert cell in geo_neighbours(43.6045, 1.4440) and len(geo_neighbours(43.6, 1.44)) == 9


def test_offers_are_compared_within_their_merged_shop_only() -> None:
    recs = [product("a:p1", "roquefort aop"), product("b:p1", "roquefort aop"),
            product("a:p2", "roquefort aop")]
    shop_of = {"a:p1": "shop-1", "b:p1": "shop-1", "a:p2": "shop-2"}
    pairs, _ = block_offers(recs, shop_of, TokenStats(r.title_tokens for r in recs))
    assert pairs == {(0, 1)}


def test_products_naming_no_shop_meet_on_gtin_codes_or_rare_words() -> None:
    recs = [product("a:1", "sony turntable pslx350h", codes=frozenset({"pslx350h"})),
            product("b:1", "turntable sony belt", codes=frozenset({"pslx350h"})),
            product("a:2", "miel chataignier", gtin="3012345678906"),
            product("b:2", "miel", gtin="3012345678906"),
            product("c:3", "baguette tradition")]
    stats = TokenStats(r.title_tokens for r in recs)
    pairs, _ = block_products(recs, stats)
    assert {(0, 1), (2, 3)} <= pairs
    assert "gtin:3012345678906" in product_keys(recs[2], stats)
