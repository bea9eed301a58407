"""One instance, several territories: /t/<key>/ routing, the chooser, territory= in the API.

The replica world of tests/search_ui is Toulouse's; the site serves it beside Grand
Nancy (config/territories.yaml), where it has no shop: what one territory finds,
the other does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from catalog.backends.documents import build_documents
from catalog.store import Catalog
from normalizer.territories import load_territories, parse_territories
from search_ui.context import close_backend
from search_ui.site import TerritorySite, create_site
from tests.search_ui.helpers import MemoryBackend, World

TERRITORIES = load_territories("config/territories.yaml")


@pytest.fixture(scope="module")
def site(world: World) -> Iterator[TerritorySite]:
    site = create_site({"AGORA_CATALOG": str(world.catalog), "AGORA_RATE_LIMIT": "off",
                        "AGORA_TERRITORIES": TERRITORIES})
    yield site
    for app in [site.root, *site.apps.values()]:
        close_backend(app)


@pytest.fixture
def client(site: TerritorySite) -> Client:
    return Client(site)


def test_the_root_chooses_among_the_territories(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.findall(r'href="(/t/[a-z_]+/)"', page) == ["/t/toulouse/", "/t/grand_nancy/"]
    assert "Grand Nancy" in page and "Toulouse" in page


def test_one_territory_goes_straight_there(world: World) -> None:
    site = create_site({"AGORA_CATALOG": str(world.catalog), "AGORA_RATE_LIMIT": "off",
                        "AGORA_TERRITORIES": TERRITORIES.select(["grand_nancy"])})
    client = Client(site)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/t/grand_nancy/"
    assert client.get("/t/toulouse/").status_code == 404  # not served here
    close_backend(site.root)
    close_backend(site.apps["grand_nancy"])


def test_todays_urls_live_below_the_territory(client: Client) -> None:
    assert client.get("/t/toulouse").status_code == 308
    response = client.get("/t/toulouse/?q=fromagerie")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Fromagerie" in page
    assert 'href="/t/toulouse/pres-de-moi"' in page  # url_for writes the prefix
    assert "<title>" in page and "commerces de Toulouse" in page
    nancy = client.get("/t/grand_nancy/?q=fromagerie").get_data(as_text=True)
    assert "commerces du Grand Nancy" in nancy and "Toulouse" not in nancy
    near = client.get("/t/grand_nancy/pres-de-moi").get_data(as_text=True)
    assert "Vandœuvre-lès-Nancy" in near and "Labège" not in near


def test_the_api_keeps_to_the_territory(client: Client) -> None:
    everywhere = client.get("/api/search?q=fromagerie").get_json()
    toulouse = client.get("/t/toulouse/api/search?q=fromagerie").get_json()
    nancy = client.get("/t/grand_nancy/api/search?q=fromagerie").get_json()
    assert everywhere["total"] == toulouse["total"] > 0 and nancy["total"] == 0
    chosen = client.get("/api/search?q=fromagerie&territory=grand_nancy").get_json()
    assert chosen["total"] == 0 and chosen["query"]["filters"] == {"territory": ["grand_nancy"]}
    assert client.get("/api/search?q=fromagerie&territory=toulouse").get_json()[
        "total"] == toulouse["total"]
    wrong = client.get("/api/search?territory=lyon")
    assert wrong.status_code == 400 and wrong.get_json()["parameter"] == "territory"
    # below a territory, territory= can only be that one
    assert client.get("/t/grand_nancy/api/search?territory=toulouse").status_code == 400
    assert client.get("/t/toulouse/api/suggest?q=fromag").get_json()["suggestions"]
    assert client.get("/t/grand_nancy/api/suggest?q=fromag").get_json()["suggestions"] == []
    assert client.get("/api/suggest?q=fromag&territory=grand_nancy").get_json()[
        "suggestions"] == []
    assert client.get("/api/suggest?q=fromag&territory=lyon").status_code == 400


def test_the_openapi_document_names_the_territories(client: Client) -> None:
    doc = client.get("/api/openapi.json").get_json()
    params = {p["name"]: p for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert params["territory"]["schema"]["items"]["enum"] == ["toulouse", "grand_nancy"]
    below = client.get("/t/grand_nancy/api/openapi.json").get_json()
    assert below["servers"][0]["url"].endswith("/t/grand_nancy")


def test_overlap_is_per_territory(client: Client) -> None:
    everything = client.get("/overlap.json").get_json()
    toulouse = client.get("/t/toulouse/overlap.json").get_json()
    nancy = client.get("/t/grand_nancy/overlap.json").get_json()
    assert toulouse["tables"] == everything["tables"]  # every shop of the world is Toulouse's
    assert everything["tables"]["by_commune"] and nancy["tables"]["by_commune"] == []
    page = client.get("/t/grand_nancy/overlap").get_data(as_text=True)
    assert "commerces du Grand Nancy" in page


# --------------------------------------------------------------------------- entity pages
def test_an_entity_of_another_territory_redirects_there(client: Client, world: World) -> None:
    shop, product = world.multi_platform_shop, world.product
    for path in (f"/boutiques/{shop}", f"/produits/{product}", f"/api/shops/{shop}",
                 f"/api/products/{product}"):
        assert client.get(f"/t/toulouse{path}").status_code == 200, path
        moved = client.get(f"/t/grand_nancy{path}?from=link")
        assert moved.status_code == 302, path
        assert moved.headers["Location"] == f"/t/toulouse{path}?from=link"
    item = client.get(f"/t/toulouse/api/shops/{shop}").get_json()["items"][0]["id"]
    assert client.get(f"/t/grand_nancy/produits/{item}").headers["Location"] == (
        f"/t/toulouse/produits/{item}")
    assert client.get(f"/boutiques/{shop}").status_code == 200  # the whole catalog's


def test_an_entity_no_served_territory_holds_is_not_found(world: World) -> None:
    site = create_site({"AGORA_CATALOG": str(world.catalog), "AGORA_RATE_LIMIT": "off",
                        "AGORA_TERRITORIES": TERRITORIES.select(["grand_nancy"])})
    client = Client(site)
    assert client.get(f"/t/grand_nancy/boutiques/{world.multi_platform_shop}"
                      ).status_code == 404
    assert client.get(f"/t/grand_nancy/produits/{world.product}").status_code == 404
    answer = client.get(f"/t/grand_nancy/api/shops/{world.multi_platform_shop}")
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
    assert client.get(f"/t/grand_nancy/api/products/{world.product}").status_code == 404
    close_backend(site.root)
    close_backend(site.apps["grand_nancy"])


def _split(world: World) -> tuple[str, str, int]:
    """A postcode of the world's most offered product's shops, one of another of its
    shops, and how many of its offers the first holds."""
    with Catalog.open_read_only(str(world.catalog)) as catalog:
        shops = {s["entity_id"]: s for s in catalog.entities.records("shop")}
        product = catalog.entities.get(world.product)
        assert product is not None
        offers = [catalog.entities.get(o) for o in product["offer_ids"]]
    codes = [shops[o["shop_entity_id"]]["postcode"] for o in offers
             if o and o.get("shop_entity_id") in shops]
    here = codes[0]
    there = next(c for c in codes if c != here)
    return here, there, codes.count(here)


def test_a_product_page_shows_the_territorys_offers(world: World) -> None:
    here, there, count = _split(world)
    with Catalog.open_read_only(str(world.catalog)) as catalog:
        records = [r for kind in ("shop", "offer", "product")
                   for r in catalog.entities.records(kind)]
    others = sorted({r["postcode"] for r in records if r["kind"] == "shop" and r.get("postcode")
                     and r["postcode"] != here})
    assert there in others
    split = parse_territories(f"""
territories:
  ici: {{name: Ici, postcodes: ["{here}"], sources: [clickandco]}}
  ailleurs: {{name: Ailleurs, postcodes: [{", ".join(f'"{c}"' for c in others)}],
             sources: [clickandco]}}
""")
    site = create_site({"AGORA_CATALOG": str(world.catalog), "AGORA_RATE_LIMIT": "off",
                        "AGORA_TERRITORIES": split,
                        "AGORA_BACKEND": MemoryBackend(build_documents(records, split))})
    client = Client(site)
    everywhere = client.get(f"/api/products/{world.product}").get_json()
    ici = client.get(f"/t/ici/api/products/{world.product}").get_json()
    ailleurs = client.get(f"/t/ailleurs/api/products/{world.product}").get_json()
    assert everywhere["offers_elsewhere"] == {}
    ici_offers = {o["offer_id"] for o in ici["offers"]}
    ailleurs_offers = {o["offer_id"] for o in ailleurs["offers"]}
    assert len(ici_offers) == count and ici_offers.isdisjoint(ailleurs_offers)
    assert ici_offers | ailleurs_offers == {o["offer_id"] for o in everywhere["offers"]}
    assert ici["offers_elsewhere"] == {"ailleurs": len(ailleurs_offers)}
    assert ailleurs["offers_elsewhere"] == {"ici": count}
    page = client.get(f"/t/ici/produits/{world.product}").get_data(as_text=True)
    assert f'href="/t/ailleurs/produits/{world.product}"' in page
    assert f"{len(ailleurs_offers)} offre" in page
