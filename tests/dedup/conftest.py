"""A tiny catalog for the matcher's adapters: two shops on two platforms, their items.

``small_catalog`` holds, as a crawl would leave them, the same bakery on Click'n
Co and Tout Toulouse (same SIRET and phone, the name spelt two ways) with the
same baguette on both, and a cheese shop on Click'n Co alone; both shops sell one
comté (same GTIN, two prices), which makes a product of two offers;
``normalized`` has also run the normalize stage on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agora.pipeline import normalize_stage
from catalog.store import Catalog

BAKERY = {"address": "3 rue du Taur", "postcode": "31000", "city": "Toulouse",
          "phone": "05 61 00 00 01", "siret": "73282932000074", "lat": 43.6045,
          "lon": 1.4420, "categories": ["Boulangerie"]}


def listings() -> list[dict[str, Any]]:
    return [
        {"kind": "shop", "source": "clickandco", "source_id": "s1",
         "url": "https://clickandco.example/s1", "name": "Boulangerie du Capitole", **BAKERY},
        {"kind": "shop", "source": "tout_toulouse", "source_id": "t1",
         "url": "https://toutoulouse.example/t1", "name": "BOULANGERIE DU CAPITOLE", **BAKERY},
        {"kind": "shop", "source": "clickandco", "source_id": "s2",
         "url": "https://clickandco.example/s2", "name": "Fromagerie Xavier",
         "address": "6 place Victor Hugo", "postcode": "31000", "city": "Toulouse",
         "phone": "05 61 22 33 44", "lat": 43.6060, "lon": 1.4490,
         "categories": ["Fromagerie"]},
        {"kind": "product", "source": "clickandco", "source_id": "p1",
         "url": "https://clickandco.example/p1", "title": "Baguette tradition",
         "price": "1,20 €", "currency": "EUR", "gtin": "3012345678902",
         "shop_source_id": "s1"},
        {"kind": "product", "source": "tout_toulouse", "source_id": "q1",
         "url": "https://toutoulouse.example/q1", "title": "Baguette Tradition",
         "price": "1,30 €", "currency": "EUR", "gtin": "3012345678902",
         "shop_source_id": "t1"},
        {"kind": "product", "source": "clickandco", "source_id": "p2",
         "url": "https://clickandco.example/p2", "title": "Comté 18 mois 250 g",
         "price": "7,90 €", "currency": "EUR", "gtin": "3760123456784",
         "shop_source_id": "s2"},
        {"kind": "product", "source": "clickandco", "source_id": "p3",
         "url": "https://clickandco.example/p3", "title": "Comté 18 mois 250 g",
         "price": "8,50 €", "currency": "EUR", "gtin": "3760123456784",
         "shop_source_id": "s1"},
    ]


def store(catalog: Catalog, items: list[dict[str, Any]], *, source: str | None = None,
          gone: list[str] = ()) -> None:
    """Write ``items`` as one import run per source (incremental: nothing marked gone
    unless named in ``gone``)."""
    sources = sorted({i["source"] for i in items} | ({source} if source else set()))
    for name in sources:
        run = catalog.begin_run(name, kind="import", mode="incremental")
        catalog.write_page(run, [i for i in items if i["source"] == name])
        if gone:
            catalog.mark_gone(run, name, gone)
        catalog.finish_run(run, "complete")


@pytest.fixture
def small_catalog(catalog_location: str) -> Iterator[Catalog]:
    """The small catalog, on each engine."""
    with Catalog.open(catalog_location) as catalog:
        store(catalog, listings())
        yield catalog


@pytest.fixture
def normalized(small_catalog: Catalog) -> Catalog:
    normalize_stage(small_catalog)
    return small_catalog
