"""The Grand Nancy region of the world and its city platform, Achetez Grand Nancy."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from normalizer.territories import load_territories
from replicas.faults import FaultProfile
from replicas.geo import GRAND_NANCY_COMMUNES
from replicas.platforms.achetezgrandnancy import KEY, SHOP_RATE, AchetezGrandNancy
from replicas.platforms.mavillemonshopping import MaVilleMonShopping
from replicas.world import REGION_SHARE, World

BOTH = ("toulouse", "grand_nancy")
TERRITORIES = load_territories("config/territories.yaml")


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(9, 300, regions=BOTH)


def test_a_second_region_leaves_toulouse_as_it_was(world: World) -> None:
    alone = World.generate(9, 300)
    assert world.shops[:len(alone.shops)] == alone.shops
    assert world.products[:len(alone.products)] == alone.products
    nancy = world.shops[len(alone.shops):]
    assert len(nancy) == round(300 * REGION_SHARE["grand_nancy"])
    assert world.regions == BOTH and alone.regions == ("toulouse",)
    with pytest.raises(ValueError, match="regions must start with 'toulouse'"):
        World.generate(9, 10, regions=("grand_nancy",))


def test_grand_nancy_shops_are_at_real_places_of_the_territory(world: World) -> None:
    communes = {c.name: c for c in GRAND_NANCY_COMMUNES}
    nancy = [s for s in world.shops if s.commune in communes]
    assert {s.commune for s in nancy} >= {"Nancy", "Vandœuvre-lès-Nancy"}
    for shop in nancy:
        assert shop.postcode in communes[shop.commune].postcodes
        assert TERRITORIES.all_of(shop.postcode, None, None) == ("grand_nancy",)
        assert TERRITORIES.all_of(None, shop.lat, shop.lon) == ("grand_nancy",)
        assert shop.phone.startswith("03") or shop.phone[:2] in ("06", "07")
        assert not shop.platforms and not shop.independent  # its city platforms choose
    assert "rue Saint-Dizier" in {s.name for c in GRAND_NANCY_COMMUNES for s in c.streets}


def test_the_city_platform_lists_only_grand_nancy(world: World) -> None:
    platform = AchetezGrandNancy(world)
    shops = [r for r in platform.records if r.kind == "shop"]
    eligible = [s for s in world.open_shops() if s.postcode.startswith("54")]
    assert shops and all(r.fields["postcode"].startswith("54") for r in shops)
    assert 0.6 * SHOP_RATE < len(shops) / len(eligible) <= 1.0
    assert AchetezGrandNancy(World.generate(9, 300)).records == []  # Toulouse alone


def test_the_api_pages_every_record_once(world: World) -> None:
    platform = AchetezGrandNancy(world)
    platform.page_size = 7
    platform.set_world(world)
    client = Client(platform.wsgi())
    for kind, path, key in (("shop", "/api/v1/commerces", "commerces"),
                            ("product", "/api/v1/produits", "produits")):
        seen, page = [], 1
        while True:
            answer = client.get(f"{path}?page={page}").get_json()
            if not answer[key]:
                break
            seen += [item["id"] for item in answer[key]]
            page += 1
        assert seen == [r.source_id for r in platform.records if r.kind == kind]
        assert answer["total"] == len(seen)
    assert client.get("/api/v1/commerces?page=x").status_code == 400
    public = next(r for r in platform.records if r.kind == "shop").fields["url"]
    assert client.get(public).status_code == 200


def test_broken_records_follow_their_good_copy(world: World) -> None:
    platform = AchetezGrandNancy(world, faults=FaultProfile(bad_records=0.2))
    client = Client(platform.wsgi())
    items = client.get("/api/v1/commerces?page=1").get_json()["commerces"]
    broken = [i for i, item in enumerate(items) if item["id"] is None]
    assert broken and all(items[i - 1]["nom"] == items[i]["nom"] for i in broken)


def test_the_national_provider_serves_both_territories(world: World) -> None:
    shops = [r for r in MaVilleMonShopping(world).records if r.kind == "shop"]
    found = {TERRITORIES.of(r.fields["postcode"], None, None) for r in shops}
    assert found == {"toulouse", "grand_nancy"}
    assert KEY not in {p for s in world.shops for p in s.platforms}
