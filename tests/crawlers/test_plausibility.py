"""``crawlers.plausibility``: values that look wrong for their field, and only those."""

from __future__ import annotations

import pytest

from crawlers.hosts import PlatformHosts
from crawlers.plausibility import flags

HOSTS = PlatformHosts("https://www.shop.example", ("cdn.shop.example",))


@pytest.mark.parametrize(("field", "good", "bad", "why"), [
    ("price", "12,50 €", "Sur demande", "no digit in the price"),
    ("price", 12.5, "prix: voir en boutique", "no digit"),
    ("postcode", "31000", "3100", "not a French postcode"),
    ("postcode", "20000", "00100", "not a French postcode"),
    ("postcode", "97400", "12345678900012", "not a French postcode"),
    ("phone", "05 61 22 33 44", "01 23", "not a valid phone number"),
    ("phone", "+33 (0)5 61 22 33 44", "Tél. : voir le site", "not a phone number"),
    ("url", "https://www.shop.example/p/1", "https://ads.example/p/1", "on another host"),
    ("url", "https://cdn.shop.example/p/1", "/p/1", "not an http(s) URL"),
    ("website", "https://boulangerie.example", "boulangerie", "not an http(s) URL"),
    ("email", "contact@boulangerie.fr", "contact(at)boulangerie", "not an e-mail"),
    ("lat", 43.6, 143.6, "outside"),
    ("gtin", "3017620422003", "3017620422004", "bad check digit"),
])
def test_a_wrong_value_is_flagged_with_why_and_a_right_one_is_not(
        field: str, good: object, bad: object, why: str) -> None:
    assert flags({"kind": "shop", field: good}, HOSTS) == []
    [(name, reason)] = flags({"kind": "shop", field: bad}, HOSTS)
    assert name == field and why in reason


def test_empty_and_unchecked_fields_are_no_flags() -> None:
    assert flags({"kind": "shop", "postcode": "", "name": "3100", "phone": None}, HOSTS) == []
    assert flags({"kind": "shop", "url": "https://ads.example/x"}, None) == []
