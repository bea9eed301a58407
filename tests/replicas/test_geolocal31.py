"""The Géo'local31 replica: capped GeoJSON bbox answers, shop pages, truth, epochs."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client

from crawlers.listing import validate_listing
from replicas.faults import FaultProfile
from replicas.geo import HAUTE_GARONNE_BBOX
from replicas.platforms.geolocal31 import BAD_ID_OFFSET, Geolocal31, parse_bbox
from replicas.world import World

HG = ",".join(str(v) for v in HAUTE_GARONNE_BBOX)


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=5, shops=100)


@pytest.fixture
def platform(world: World) -> Geolocal31:
    return Geolocal31(world)


def get_json(platform: Geolocal31, url: str) -> dict:
    response = Client(platform.wsgi()).get(url)
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/geo+json"
    return json.loads(response.text)


def test_bbox_answer_is_a_sorted_feature_collection(platform: Geolocal31) -> None:
    data = get_json(platform, f"/api/commerces?bbox={HG}")
    assert data["type"] == "FeatureCollection"
    assert data["numberMatched"] == data["numberReturned"] == len(platform.records)
    ids = [f["id"] for f in data["features"]]
    assert ids == sorted(ids) == [r.source_id for r in platform.records]
    feature = data["features"][0]
    assert feature["geometry"]["type"] == "Point"
    lon, lat = feature["geometry"]["coordinates"]
    record = platform.records[0]
    assert (lat, lon) == (record.fields["lat"], record.fields["lon"])  # GeoJSON order
    props = feature["properties"]
    assert props["id"] == record.source_id and props["id"].startswith("GL31-")
    assert {"nom", "adresse", "code_postal", "commune", "telephone", "siret", "activite",
            "site_web"} <= set(props)


def test_answer_is_capped_ogc_style(platform: Geolocal31) -> None:
    platform.cap = 7
    data = get_json(platform, f"/api/commerces?bbox={HG}")
    assert data["numberMatched"] == len(platform.records)
    assert data["numberReturned"] == len(data["features"]) == 7
    assert [f["id"] for f in data["features"]] == [r.source_id for r in platform.records[:7]]
    assert "links" not in data  # no paging offered


def test_bbox_filters_with_inclusive_edges(platform: Geolocal31) -> None:
    record = platform.records[3]
    lat, lon = record.fields["lat"], record.fields["lon"]
    for box in (f"{lon},{lat},{lon},{lat}", f"{lon - 0.01},{lat - 0.01},{lon},{lat}",
                f"{lon},{lat},{lon + 0.01},{lat + 0.01}"):
        ids = [f["id"] for f in get_json(platform, f"/api/commerces?bbox={box}")["features"]]
        assert record.source_id in ids
    empty = get_json(platform, "/api/commerces?bbox=0.0,0.0,0.1,0.1")
    assert empty["features"] == [] and empty["numberMatched"] == 0


def test_bad_bbox_is_a_400(platform: Geolocal31) -> None:
    client = Client(platform.wsgi())
    for bad in ("1,2,3", "a,b,c,d", "2,43,1,44", "nan,1,2,3"):
        assert client.get(f"/api/commerces?bbox={bad}").status_code == 400
    assert parse_bbox("1,2,3,4") == (1.0, 2.0, 3.0, 4.0)


def test_public_shop_page(platform: Geolocal31) -> None:
    client = Client(platform.wsgi())
    record = platform.records[0]
    response = client.get(record.fields["url"])
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert record.source_id in response.text and response.text.rstrip().endswith("</html>")
    assert client.get("/commerce/GL31-999999").status_code == 404
    assert client.get("/robots.txt").status_code == 200


def test_classify(platform: Geolocal31) -> None:
    assert platform.classify("/api/commerces") == ("json", False)  # capped, never paginated
    assert platform.classify("/commerce/GL31-000001") == ("html", False)
    assert platform.classify("/robots.txt") is None


def test_truth_and_expected_listings(platform: Geolocal31, world: World) -> None:
    truth = list(platform.truth())
    assert len(truth) == len(platform.records) == len(world.shops_on("geolocal31"))
    ids = [row[2] for row in truth]
    assert len(set(ids)) == len(ids)
    assert {row[3] for row in truth} == {s.entity_id for s in world.shops_on("geolocal31")}
    assert all(row[0] == "shop" for row in truth)
    x0, y0, x1, y1 = HAUTE_GARONNE_BBOX
    for item in platform.expected_listings():
        # exactly what the sink will store, and findable from the Haute-Garonne box
        assert validate_listing(item) == item
        assert x0 <= item["lon"] <= x1 and y0 <= item["lat"] <= y1
        assert item["url"] == f"{platform.base_url}/commerce/{item['source_id']}"
        assert "kind" in item and item["categories"]


def test_noise_looks_like_the_register(world: World) -> None:
    big = Geolocal31(World.generate(seed=5, shops=600))
    props = [r.native["properties"] for r in big.records]
    n = len(props)
    upper = sum(p["nom"] == p["nom"].upper() for p in props) / n
    compact = sum(p["telephone"].isdigit() for p in props if p["telephone"]) / n
    siret = sum(p["siret"] is not None for p in props) / n
    assert 0.45 < upper < 0.8 and 0.55 < compact < 0.85 and 0.88 < siret <= 1.0
    assert all(p["commune"] == p["commune"].upper() for p in props)


def test_same_world_renders_identically(world: World) -> None:
    a, b = Geolocal31(world), Geolocal31(World.generate(seed=5, shops=100))
    assert [(r.source_id, r.entity_id, r.fields) for r in a.records] == \
        [(r.source_id, r.entity_id, r.fields) for r in b.records]
    assert a.answer(None) == b.answer(None)


def test_epoch_one_changes_some_records(platform: Geolocal31) -> None:
    before = {r.source_id: r.fields for r in platform.records}
    platform.set_world(World.generate(seed=5, shops=100, epoch=1))
    after = {r.source_id: r.fields for r in platform.records}
    common = before.keys() & after.keys()
    changed = [k for k in common if before[k] != after[k]]
    assert after.keys() - before.keys() and before.keys() - after.keys() and changed
    assert len(common) - len(changed) > 0.9 * len(before)  # the rest is byte-identical
    data = json.loads(platform.answer(None))
    assert [f["id"] for f in data["features"]] == sorted(after)


def test_bad_records_are_extra_broken_features_not_in_truth(world: World) -> None:
    platform = Geolocal31(world, faults=FaultProfile.parse("bad=0.05"))
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert bad
    assert len(list(platform.truth())) == len(Geolocal31(world).records)
    data = json.loads(platform.answer(None))
    assert data["numberMatched"] == len(platform.records) + len(bad)
    extra = {f["id"] for f in data["features"]} - {r.source_id for r in platform.records}
    assert extra == {f"GL31-{BAD_ID_OFFSET + r.native['index']:06d}" for r in bad}
    for f in data["features"]:
        if f["id"] in extra:
            geometry = f["geometry"]
            assert geometry is None or isinstance(geometry["coordinates"][1], str)
