"""Survivorship: the merged record shows what most sources agree on, conflicts kept."""

from __future__ import annotations

from dedup.settings import load_settings
from dedup.survivorship import merge_offer, merge_shop, product_key_of
from normalizer import normalize_listing

SETTINGS = load_settings()


def _shop(source: str, **fields: object):
    return normalize_listing({"kind": "shop", "source": source, "source_id": "1", **fields})


def test_the_value_most_sources_give_wins_and_is_shown_best_written() -> None:
    members = [
        _shop("clickandco", name="FROMAGERIE XAVIER", phone="05 61 22 33 44"),
        _shop("dansmazone", name="Fromagerie Xavier", phone="0561223344"),
        _shop("geolocal31", name="Fromagerie Xavier SARL", phone="06 12 34 56 78"),
    ]
    record = merge_shop("shop-1", members, SETTINGS)
    assert record["name"] == "Fromagerie Xavier"
    assert record["phone"] == "+33561223344"
    assert record["platforms"] == ["dansmazone", "clickandco", "geolocal31"]


def test_conflicts_between_sources_are_kept_with_who_says_what() -> None:
    members = [_shop("clickandco", name="Cave", phone="05 61 22 33 44"),
               _shop("dansmazone", name="Cave", phone="06 12 34 56 78")]
    record = merge_shop("shop-1", members, SETTINGS)
    phones = record["conflicts"]["phone"]
    assert {tuple(c["sources"]) for c in phones} == {("clickandco",), ("dansmazone",)}
    assert record["phones"] == ["+33561223344", "+33612345678"]


def test_a_tie_goes_to_the_more_trusted_platform() -> None:
    members = [_shop("geolocal31", name="Cave", website="https://a.fr"),
               _shop("tout_toulouse", name="Cave", website="https://b.fr")]
    assert merge_shop("shop-1", members, SETTINGS)["website"] == "b.fr"


def _product(source: str, **fields: object):
    return normalize_listing({"kind": "product", "source": source, "source_id": "p",
                              "shop_source_id": "1", **fields})


def test_an_offer_keeps_each_platform_price_and_the_range() -> None:
    members = [_product("clickandco", title="Roquefort AOP 100 g", price="3,90 €",
                        gtin="3017620422003"),
               _product("dansmazone", title="ROQUEFORT AOP 100G", price="4.10")]
    record = merge_offer("offer-1", "shop-1", members, SETTINGS)
    assert (record["price_min"], record["price_max"]) == (390, 410)
    assert record["title"] == "Roquefort AOP 100 g"
    assert record["variant"] == [["size", "100g"]]
    assert len(record["offers"]) == 2 and "price_cents" in record["conflicts"]
    assert product_key_of(record) == "gtin:3017620422003"


def test_a_shop_made_item_without_gtin_or_brand_is_no_product_across_shops() -> None:
    record = merge_offer("offer-1", "shop-1", [_product("clickandco", title="Tarte maison")],
                         SETTINGS)
    assert product_key_of(record) is None


def test_every_contact_field_is_voted_and_a_member_without_it_abstains() -> None:
    members = [_shop("clickandco", name="Cave", email="Contact@Cave.fr", siret="73282932000074"),
               _shop("dansmazone", name="Cave", email="contact@cave.fr"),
               _shop("geolocal31", name="Cave", email="autre@cave.fr")]
    record = merge_shop("shop-1", members, SETTINGS)
    assert record["email"] == "contact@cave.fr"
    assert record["siret"] == "73282932000074"  # one source has it, none disagrees
    assert "siret" not in record.get("conflicts", {})
    assert {tuple(c["sources"]) for c in record["conflicts"]["email"]} == {
        ("clickandco", "dansmazone"), ("geolocal31",)}
