import copy
import json

import pytest

from crawlers.listing import validate_listing
from normalizer import (
    CleanProduct,
    CleanShop,
    Flag,
    NotAListing,
    Territory,
    normalize_listing,
)

SHOP = {
    "kind": "shop", "source": "geolocal31", "source_id": "GL31-000012",
    "url": "http://127.0.0.1:8705/commerce/GL31-000012",
    "name": "BOULANGERIE DUPONT SARL", "address": "12 BIS R. DE METZ", "postcode": "31000",
    "city": "TOULOUSE CEDEX 6", "phone": "05.61.22.33.44", "email": "Contact@Dupont.FR",
    "website": "https://www.Boulangerie-Dupont.fr/", "siret": "732 829 320 00074",
    "lat": 43.6045, "lon": 1.444, "categories": ["Boulangerie-pâtisserie"],
    "services": ["Click & collect", "Livraison locale"],
    "opening_hours": "Du mardi au samedi de 9h30 à 12h30 et de 14h à 19h",
    "description": "Boulangerie-Pâtisserie à Toulouse.",
}
PRODUCT = {
    "kind": "product", "source": "dansmazone", "source_id": "10012345",
    "url": "https://dansmazone.example/p/10012345", "title": "MADIRAN CHÂTEAU MONTUS 75CL",
    "brand": "Château Montus", "gtin": "3017620422003", "price": "1\u202f250,00 €",
    "currency": "EUR", "availability": "https://schema.org/InStock",
    "category": "Alimentation > Vins et spiritueux", "description": "Un madiran.",
    "image_url": "https://cdn.example/1.jpg", "shop_source_id": "1012",
}


def test_shop() -> None:
    c = normalize_listing(validate_listing(SHOP))
    assert isinstance(c, CleanShop)
    assert (c.kind, c.source, c.source_id, c.url) == (
        "shop", "geolocal31", "GL31-000012", SHOP["url"])
    assert (c.name, c.name_key, c.name_tokens, c.legal_form) == (
        "Boulangerie Dupont", "boulangerie dupont", ("boulangerie", "dupont"), "SARL")
    assert (c.street_number, c.street_suffix, c.street, c.street_key) == (
        "12", "bis", "rue de Metz", "rue metz")
    assert c.address_key == "12bis rue metz|31000"
    assert (c.postcode, c.city, c.city_key, c.cedex, c.department) == (
        "31000", "Toulouse", "toulouse", True, "31")
    assert (c.phone, c.phone_kind) == ("+33561223344", "fixed")
    assert (c.siret, c.siren) == ("73282932000074", "732829320")
    assert (c.email, c.website_host) == ("contact@dupont.fr", "boulangerie-dupont.fr")
    assert (c.lat, c.lon, c.geohash) == (43.6045, 1.444, "spc00cg")
    assert c.categories == ("boulangerie",)
    assert c.services == ("click_collect", "local_delivery")
    assert c.opening_hours == "Tu-Sa 09:30-12:30,14:00-19:00"
    assert c.description == "Boulangerie-Pâtisserie à Toulouse."
    assert c.flags == ()


def test_product() -> None:
    c = normalize_listing(validate_listing(PRODUCT))
    assert isinstance(c, CleanProduct)
    assert (c.title, c.title_key) == ("Madiran Château Montus 75cl", "madiran chateau montus 750ml")
    assert c.title_tokens == ("madiran", "chateau", "montus", "750ml")
    assert c.variant == (("size", "750ml"),)
    assert (c.brand, c.brand_key) == ("Château Montus", "chateau montus")
    assert (c.gtin, c.price_cents, c.currency) == ("3017620422003", 125000, "EUR")
    assert (c.availability, c.category) == ("in_stock", "caviste")
    assert (c.shop_source_id, c.image_url) == ("1012", "https://cdn.example/1.jpg")
    assert c.flags == ()


def test_raw_is_kept_untouched() -> None:
    raw = validate_listing(SHOP)
    before = copy.deepcopy(raw)
    c = normalize_listing(raw)
    assert c.raw == before and raw == before


BAD_SHOP = {
    **SHOP, "name": None, "phone": "05 61 22 33", "siret": "73282932000075",
    "email": "contact@dupont", "website": "pas de site", "lat": 1.444, "lon": 43.6045,
    "categories": ["Boulangerie", "Pharmacie"], "services": ["Parking"],
    "opening_hours": "Sur rendez-vous", "postcode": "ABCDE",
}


def test_bad_values_are_flagged_and_left_out() -> None:
    c = normalize_listing(validate_listing(BAD_SHOP))
    codes = {(f.field, f.code) for f in c.flags}
    assert codes == {
        ("name", "missing_name"), ("phone", "invalid_phone"), ("siret", "bad_siret_checksum"),
        ("email", "invalid_email"), ("website", "invalid_website"),
        ("lat", "swapped_coordinates"), ("categories", "unknown_category"),
        ("services", "unknown_service"), ("opening_hours", "unparsed_hours"),
        ("postcode", "invalid_postcode"),
    }
    assert c.name is None and c.phone is None and c.siret is None and c.siren is None
    assert c.email is None and c.website_host is None and c.opening_hours is None
    assert c.postcode is None and c.address_key is None
    assert (c.lat, c.lon) == (43.6045, 1.444)  # swapped back, flagged
    assert c.categories == ("boulangerie",)
    flag = next(f for f in c.flags if f.code == "unknown_category")
    assert flag == Flag("categories", "unknown_category", "Pharmacie")
    assert next(f for f in c.flags if f.field == "phone").value == "05 61 22 33"


@pytest.mark.parametrize("lat, lon, code", [
    (0, 0, "zero_coordinates"), (48.8566, 2.3522, "outside_territory"),
])
def test_coordinates_dropped(lat: float, lon: float, code: str) -> None:
    c = normalize_listing({**SHOP, "lat": lat, "lon": lon})
    assert (c.lat, c.lon, c.geohash) == (None, None, None)  # type: ignore[union-attr]
    assert [f.code for f in c.flags] == [code]


def test_territory() -> None:
    paris = Territory(bbox=(1.44, 48.12, 3.56, 49.24), name="Île-de-France")
    c = normalize_listing({**SHOP, "lat": 48.8566, "lon": 2.3522}, territory=paris)
    assert (c.lat, c.lon) == (48.8566, 2.3522) and c.flags == ()  # type: ignore[union-attr]
    swiss = Territory(bbox=(5.9, 45.8, 10.5, 47.8), region="CH", currency="CHF")
    p = normalize_listing({**PRODUCT, "currency": None, "price": "12.50"}, territory=swiss)
    assert (p.price_cents, p.currency) == (1250, "CHF")  # type: ignore[union-attr]


BAD_PRODUCT = {**PRODUCT, "title": "", "gtin": "3017620422004", "price": ",89 €",
               "availability": "bientôt", "category": "Pharmacie"}


def test_bad_product_values() -> None:
    c = normalize_listing(BAD_PRODUCT)
    assert isinstance(c, CleanProduct)
    assert [(f.field, f.code) for f in c.flags] == [
        ("title", "missing_title"), ("gtin", "invalid_gtin"), ("price", "price_misread_guarded"),
        ("availability", "unknown_availability"), ("category", "unknown_category")]
    assert (c.title_key, c.gtin, c.price_cents, c.availability, c.category) == (
        None, None, 89, None, None)


def test_numeric_price_and_invalid_price() -> None:
    assert normalize_listing({**PRODUCT, "price": 12.9}).price_cents == 1290
    c = normalize_listing({**PRODUCT, "price": "sur devis"})
    assert c.price_cents is None  # type: ignore[union-attr]
    assert [f.code for f in c.flags] == ["invalid_price"]
    assert normalize_listing({**PRODUCT, "price": None}).currency is None


def test_minimal_listings() -> None:
    s = normalize_listing({"kind": "shop", "source": "x", "source_id": "1", "name": "A B"})
    assert s.categories == () and s.services == () and s.flags == ()
    p = normalize_listing({"kind": "product", "source": "x", "source_id": "2", "title": "Abc"})
    assert p.variant == () and p.price_cents is None and p.flags == ()


def test_flag_values_are_bounded() -> None:
    c = normalize_listing({**SHOP, "opening_hours": "x" * 1000})
    assert len(c.flags[0].value) == 200


@pytest.mark.parametrize("raw", [SHOP, BAD_SHOP, PRODUCT, BAD_PRODUCT])
def test_json_round_trip(raw: dict) -> None:
    c = normalize_listing(validate_listing(raw))
    text = json.dumps(c.to_dict(), ensure_ascii=False)
    back = type(c).from_dict(json.loads(text))
    assert back == c
    assert isinstance(back.flags, tuple) and all(isinstance(f, Flag) for f in back.flags)


def test_clean_listings_are_frozen_and_hashable_flags() -> None:
    c = normalize_listing(SHOP)
    with pytest.raises(AttributeError):
        c.name = "x"  # type: ignore[misc]
    assert len({*c.flags, Flag("a", "b", "c")}) == len(c.flags) + 1


@pytest.mark.parametrize("raw", [{}, {"kind": "offer", "source": "x", "source_id": "1"}])
def test_not_a_listing(raw: dict) -> None:
    with pytest.raises(NotAListing):
        normalize_listing(raw)


def test_same_input_same_output() -> None:
    assert normalize_listing(dict(SHOP)) == normalize_listing(dict(SHOP))
