"""schema.org objects: JSON-LD and microdata read as one list, types and their families."""

from __future__ import annotations

import json

import pytest

from crawlers.errors import InvalidJsonLd, InvalidRecord
from crawlers.parsing.schema_org import (
    find_object,
    jsonld_objects,
    microdata_objects,
    schema_objects,
)
from crawlers.parsing.schema_types import BUSINESS_TYPES, family, short_type, types_of

HTML = """<html><body><div itemscope itemtype="https://schema.org/Bakery">
  <h1 itemprop="name">Au Pain</h1><div itemprop="address" itemscope
  itemtype="https://schema.org/PostalAddress"><span itemprop="postalCode">31000</span>
  </div><meta itemprop="openingHours" content="Mo-Sa 09:00-19:00"></div>
  <script type="application/ld+json">{"@context": "https://schema.org",
  "@type": "Product", "name": "Chocolatine", "offers": {"@type": "Offer",
  "price": "1.20"}}</script></body></html>"""


def test_microdata_and_json_ld_become_the_same_objects() -> None:
    objects = schema_objects(HTML, "http://x/commerce/7", ("json-ld", "microdata"))
    shop = find_object(objects, family("LocalBusiness"))
    assert shop == {"@type": "Bakery", "name": "Au Pain", "openingHours": "Mo-Sa 09:00-19:00",
                    "address": {"@type": "PostalAddress", "postalCode": "31000"}}
    product = find_object(objects, frozenset({"Product"}))
    assert product is not None and product["offers"]["price"] == "1.20"
    assert find_object(objects, frozenset({"Offer"})) == {"@type": "Offer", "price": "1.20"}
    assert microdata_objects([{"type": ["http://schema.org/Store"], "properties": {
        "name": ["A", "B"]}}]) == [{"@type": "Store", "name": ["A", "B"]}]
    only_jsonld = schema_objects(HTML, "http://x/commerce/7", ("json-ld",))
    assert find_object(only_jsonld, family("LocalBusiness")) is None


def test_graphs_are_flattened_and_broken_json_ld_is_an_invalid_record() -> None:
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "BreadcrumbList"}, {"@type": "Bakery", "name": "A"}]}
    page = f'<script type="application/ld+json">{json.dumps(graph)}</script>'
    assert [o["@type"] for o in jsonld_objects(page)] == ["BreadcrumbList", "Bakery"]
    broken = '<script type="application/ld+json">{"@type": "Product", "price": 4,90}</script>'
    with pytest.raises(InvalidJsonLd) as info:
        jsonld_objects(broken)
    assert isinstance(info.value, InvalidRecord) and info.value.kind == "invalid_record"


@pytest.mark.parametrize(("raw", "short"), [
    ("https://schema.org/Bakery", "Bakery"), ("http://schema.org/Store", "Store"),
    ("schema:Florist", "Florist"), ("Butcher", "Butcher"), ("", None), (None, None),
])
def test_type_names_are_read_short(raw: object, short: str | None) -> None:
    assert short_type(raw) == short


def test_families_stand_for_their_subtypes() -> None:
    assert "Butcher" in family("LocalBusiness") and family("LocalBusiness") == BUSINESS_TYPES
    assert family("Product") >= {"Product", "IndividualProduct"}
    assert family("Event") == {"Event"}
    assert types_of({"@type": ["schema:Store", "https://schema.org/Bakery"]}) == {"Store",
                                                                                 "Bakery"}
