"""Search backends for the catalog tests, one per engine, and a small hand-made build.

- ``backend_factory`` (module scope, parametrized over embedded (Tantivy), fts5,
  elasticsearch and opensearch): ``.new()`` gives an empty backend of that engine
  (a fresh catalog file, or a fresh alias on the test node); everything is removed
  at the end.
- ``indexed``: a backend of each engine holding ``sample_documents()``.
- ``sample_records()``: shops, offers and products shaped as dedup writes them
  (merge_shop, merge_offer, _product_record), with the hard cases the contract
  tests need: two spellings of one commune, a shop without coordinates, markup
  in a name, offers with and without a product, a product without a shop.

The Elasticsearch and OpenSearch nodes come from tests/search_node.py; without
Java or Maven their tests are skipped with a message saying how to run them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.backends.base import SearchBackend
from catalog.backends.documents import build_documents
from catalog.backends.elastic import ElasticBackend
from catalog.backends.embedded import EmbeddedBackend
from catalog.backends.fts5 import Fts5Backend
from tests.search_node import (  # noqa: F401 - the shared search-node fixtures (one pool)
    elasticsearch_server,
    opensearch_server,
    search_node_pool,
    search_server,
)

ENGINES = ("embedded", "fts5", "elasticsearch", "opensearch")
SERVERS = ("elasticsearch", "opensearch")
ENGINE_PARAMS = [pytest.param(e, marks=[pytest.mark.elasticsearch] if e in SERVERS else [],
                              id=e) for e in ENGINES]
CAPITOLE = (43.6045, 1.4440)


def _src(source: str, source_id: str, name: str) -> dict[str, Any]:
    return {"source": source, "source_id": source_id,
            "url": f"https://{source}.example/{source_id}", "name": name}


def _shop(entity_id: str, name: str, city: str | None, postcode: str | None,
          lat: float | None, lon: float | None, categories: list[str], services: list[str],
          platforms: list[str], flags: list[str] = (), description: str | None = None,
          ) -> dict[str, Any]:
    sources = [_src(p, f"{entity_id}-{p}", name) for p in platforms]
    return {
        "entity_id": entity_id, "kind": "shop", "name": name, "city": city,
        "postcode": postcode, "address": "1 rue du Test", "lat": lat, "lon": lon,
        "categories": categories, "services": services, "platforms": platforms,
        "description": description, "phone": "+33561000000", "website": None,
        "opening_hours": None, "sources": sources,
        "flags": [{"source": platforms[0], "source_id": sources[0]["source_id"],
                   "field": "phone", "code": code, "value": "x"} for code in flags],
        "offer_ids": [],
    }


def _offer(entity_id: str, shop: dict[str, Any], title: str, price: int, category: str,
           platforms: list[str], brand: str | None = None, gtin: str | None = None,
           product_id: str | None = None, description: str | None = None) -> dict[str, Any]:
    sources = [_src(p, f"{entity_id}-{p}", title) for p in platforms]
    record = {
        "entity_id": entity_id, "kind": "offer", "shop_entity_id": shop["entity_id"],
        "title": title, "brand": brand, "gtin": gtin, "category": category,
        "description": description, "availability": "in_stock", "image_url": None,
        "price_min": price, "price_max": price, "currency": "EUR", "platforms": platforms,
        "sources": sources, "flags": [], "shop_name": shop["name"], "city": shop["city"],
        "postcode": shop["postcode"], "lat": shop["lat"], "lon": shop["lon"],
        "shop_services": shop["services"],
    }
    if product_id:
        record["product_entity_id"] = product_id
    shop["offer_ids"].append(entity_id)
    return record


def sample_records() -> list[dict[str, Any]]:
    """A small build: 8 shops, 7 offers, 3 products (one without any shop)."""
    andre = _shop("shop-andre", "Fromagerie André", "Toulouse", "31000", 43.6000, 1.4450,
                  ["fromagerie"], ["click_collect"], ["tout_toulouse", "dansmazone"],
                  flags=["unverified_phone"], description="Fromages affinés au Capitole.")
    carmes = _shop("shop-carmes", "La Fromagerie des Carmes", "Toulouse", "31000", 43.5960,
                   1.4460, ["fromagerie"], ["delivery"], ["toulouse_boutiques"])
    duval = _shop("shop-duval", "Cave Duval", "Albi", "81000", 43.9289, 2.1464, ["caviste"],
                  ["click_collect", "local_delivery"], ["dansmazone"],
                  description="Vins du Tarn et de Gaillac.")
    arnaud = _shop("shop-arnaud", "L'Épicerie d'Arnaud", "Labège", "31670", 43.5330, 1.5340,
                   ["epicerie_fine"], [], ["clickandco"])
    fabre = _shop("shop-fabre", "Chaussures Fabre", "Blagnac", "31700", 43.6370, 1.3900,
                  ["chaussures"], ["click_collect"], ["toulouse_boutiques", "geolocal31"])
    fournil = _shop("shop-fournil", "Boulangerie <Le Fournil> & Fils", "Toulouse", "31000",
                    43.6100, 1.4530, ["boulangerie"], ["click_collect"], ["tout_toulouse"])
    ombres = _shop("shop-ombres", "Librairie Ombres Blanches", "Toulouse", "31000", None, None,
                   ["librairie"], ["click_collect", "delivery"], ["tout_toulouse",
                                                                  "toulouse_boutiques"])
    martin = _shop("shop-martin", "Optique Martin", "LABEGE", "31670", 43.5400, 1.5100,
                   ["opticien"], ["delivery"], ["geolocal31"], flags=["unverified_phone"])
    shops = [andre, carmes, duval, arnaud, fabre, fournil, ombres, martin]
    gaillac = "Gaillac rouge AOC Domaine du Moulin 2019"
    offers = [
        _offer("offer-gaillac-duval", duval, gaillac, 1290, "caviste", ["dansmazone"],
               brand="Domaine du Moulin", gtin="3760000000017", product_id="product-gaillac"),
        _offer("offer-gaillac-arnaud", arnaud, gaillac, 1450, "caviste", ["clickandco"],
               brand="Domaine du Moulin", gtin="3760000000017", product_id="product-gaillac"),
        _offer("offer-roquefort", andre, "Roquefort AOP 100g", 450, "fromagerie",
               ["tout_toulouse", "dansmazone"]),
        _offer("offer-comte", andre, "Comté AOP 24 mois", 2190, "fromagerie", ["dansmazone"]),
        _offer("offer-veja", fabre, "Baskets Veja pointure 43", 12900, "chaussures",
               ["toulouse_boutiques"], brand="Veja", gtin="3760000000024",
               product_id="product-veja"),
        _offer("offer-tarte", fournil, "Tarte aux pommes 6 parts", 1800, "boulangerie",
               ["tout_toulouse"]),
        _offer("offer-brebis", carmes, "Brebis des Pyrénées 250 g", 890, "fromagerie",
               ["toulouse_boutiques"], description="Tomme de brebis, lait cru."),
    ]
    products = [
        {"entity_id": "product-gaillac", "kind": "product", "title": gaillac,
         "brand": "Domaine du Moulin", "gtin": "3760000000017", "category": "caviste",
         "description": None, "image_url": None, "price_min": 1290, "price_max": 1450,
         "currency": "EUR", "platforms": ["dansmazone", "clickandco"],
         "offer_ids": ["offer-gaillac-arnaud", "offer-gaillac-duval"],
         "shop_ids": ["shop-arnaud", "shop-duval"], "offers_count": 2},
        {"entity_id": "product-veja", "kind": "product", "title": "Baskets Veja pointure 43",
         "brand": "Veja", "gtin": "3760000000024", "category": "chaussures",
         "description": None, "image_url": None, "price_min": 12900, "price_max": 12900,
         "currency": "EUR", "platforms": ["toulouse_boutiques"], "offer_ids": ["offer-veja"],
         "shop_ids": ["shop-fabre"], "offers_count": 1},
        {"entity_id": "product-routard", "kind": "product", "title": "Guide du Routard Toulouse",
         "brand": "Hachette", "gtin": "9782017167749", "category": "librairie",
         "description": "Le guide de voyage.", "image_url": None, "price_min": 1590,
         "price_max": 1590, "currency": "EUR", "platforms": ["dansmazone"], "offer_ids": [],
         "sources": [_src("dansmazone", "routard-1", "Guide du Routard Toulouse")],
         "flags": [{"source": "dansmazone", "source_id": "routard-1", "field": "gtin",
                    "code": "bad_gtin", "value": "x"}]},
    ]
    return shops + offers + products


def sample_documents() -> list[dict[str, Any]]:
    return build_documents(sample_records())


class BackendFactory:
    """Fresh, empty backends of one engine; all removed by ``close``."""

    def __init__(self, engine: str, tmp: Path, server: Any = None) -> None:
        self.engine = engine
        self.tmp = tmp
        self.server = server
        self.made: list[SearchBackend] = []
        self.aliases: list[str] = []

    def new(self) -> SearchBackend:
        if self.engine == "embedded":
            backend: SearchBackend = EmbeddedBackend(self.tmp / f"{uuid.uuid4().hex[:8]}.sqlite")
        elif self.engine == "fts5":
            backend = Fts5Backend(self.tmp / f"{uuid.uuid4().hex[:8]}.sqlite")
        else:
            alias = f"agora-test-{uuid.uuid4().hex[:10]}"
            self.aliases.append(alias)
            backend = ElasticBackend.connect(self.server.url, alias)
        self.made.append(backend)
        return backend

    def close(self) -> None:
        for backend in self.made:
            if self.engine in SERVERS:
                adapter = backend.adapter  # type: ignore[attr-defined]
                for index in adapter.indices(f"{backend.alias}-*"):  # type: ignore[attr-defined]
                    adapter.delete_index(index)
                try:
                    adapter.client.indices.delete_index_template(
                        name=f"{backend.alias}-template")  # type: ignore[attr-defined]
                except adapter.not_found:
                    pass
            backend.close()


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def backend_factory(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendFactory]:
    server = None
    if request.param in SERVERS:
        server = request.getfixturevalue(f"{request.param}_server")
    factory = BackendFactory(request.param, tmp_path_factory.mktemp(request.param), server)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def indexed(backend_factory: BackendFactory) -> SearchBackend:
    backend = backend_factory.new()
    backend.index_build(sample_documents(), build_id=1)
    return backend


@pytest.fixture
def fresh_backend(backend_factory: BackendFactory) -> Callable[[], SearchBackend]:
    return backend_factory.new
