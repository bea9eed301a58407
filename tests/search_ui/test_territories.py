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

from normalizer.territories import load_territories
from search_ui.context import close_backend
from search_ui.site import TerritorySite, create_site
from tests.search_ui.helpers import World

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
