"""The Géo'local31 connector: mapping, tiling under the cap, resume (real crawls: the contract)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from crawlers.connectors.geolocal31 import Geolocal31Connector, feature_listing
from crawlers.errors import InvalidRecord, SourceConfigError
from crawlers.http import Fetcher
from crawlers.listing import PageResult
from crawlers.source import SourceConfig
from replicas.platforms.geolocal31 import Geolocal31
from replicas.world import World

KEY = "geolocal31"
PAGE = "http://gl/commerce/{id}"


def feature(sid: str, lon: Any, lat: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": sid,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": sid, **props}}


# ---------------------------------------------------------------------- pure helpers
def test_feature_listing_maps_register_fields_to_the_contract() -> None:
    f = feature("GL31-000123", 1.4432, 43.6047, nom="BOULANGERIE MARTIN SARL",
                enseigne="Au Pain du Capitole", adresse="12 BIS RUE DE METZ",
                code_postal="31000", commune="TOULOUSE", telephone="0561223344",
                siret="84281650600013", activite="Boulangerie-pâtisserie",
                site_web="https://www.aupain.fr/", horaires="Mo-Sa 09:00-19:00",
                services=["Click & collect"])
    assert feature_listing(f, PAGE) == {
        "kind": "shop", "source_id": "GL31-000123", "url": "http://gl/commerce/GL31-000123",
        "name": "Au Pain du Capitole", "address": "12 BIS RUE DE METZ", "postcode": "31000",
        "city": "TOULOUSE", "phone": "0561223344", "website": "https://www.aupain.fr/",
        "siret": "84281650600013", "lat": 43.6047, "lon": 1.4432,
        "categories": ["Boulangerie-pâtisserie"], "services": ["Click & collect"],
        "opening_hours": "Mo-Sa 09:00-19:00",
    }


def test_feature_listing_without_sign_or_optional_values() -> None:
    f = feature("GL31-000007", 1.0, 43.0, nom="CAVE & CO", telephone=None, siret=None,
                site_web=None, activite="Caviste")
    listing = feature_listing(f, PAGE)
    assert listing["name"] == "CAVE & CO"
    assert not {"phone", "siret", "website", "services", "opening_hours"} & set(listing)
    no_top_id = {**f, "id": None}
    assert feature_listing(no_top_id, PAGE)["source_id"] == "GL31-000007"


@pytest.mark.parametrize(("broken", "reason", "sid"), [
    ({"type": "Feature", "geometry": None, "properties": {}}, "without id", None),
    ({"type": "Feature", "id": "A", "geometry": None, "properties": {}}, "without geometry",
     "A"),
    (feature("A", 1.44, "43°36'N"), "latitude is not a number", "A"),
    (feature("A", None, 43.6), "longitude is not a number", "A"),
    (feature("A", 1.44, 143.6), "out of range", "A"),
    (feature("A", True, 43.6), "not a number", "A"),
    ({"type": "Feature", "id": "A", "geometry": {"type": "Polygon", "coordinates": []}},
     "not a Point", "A"),
    ("garbage", "without id", None),
])
def test_unusable_features_raise_with_their_id(broken: Any, reason: str,
                                               sid: str | None) -> None:
    with pytest.raises(InvalidRecord, match=reason) as info:
        feature_listing(broken, PAGE)
    assert info.value.source_id == sid


# ---------------------------------------------------------------------- a fake server
def fake_server(points: dict[str, tuple[float, float]], cap: int, *,
                fail: Callable[[tuple[float, ...]], bool] = lambda box: False,
                extra: list[dict[str, Any]] | None = None,
                log: list[tuple[float, ...]] | None = None) -> httpx.MockTransport:
    """An inclusive-bbox GeoJSON server with a cap, like the platform."""
    def handler(request: httpx.Request) -> httpx.Response:
        box = tuple(float(v) for v in request.url.params["bbox"].split(","))
        if log is not None:
            log.append(box)
        if fail(box):
            return httpx.Response(503)
        matched = [feature(sid, lon, lat, nom=sid) for sid, (lon, lat) in sorted(points.items())
                   if box[0] <= lon <= box[2] and box[1] <= lat <= box[3]]
        matched += extra or []
        body = {"type": "FeatureCollection", "numberMatched": len(matched),
                "numberReturned": min(cap, len(matched)), "features": matched[:cap]}
        return httpx.Response(200, json=body)
    return httpx.MockTransport(handler)


def connector(transport: httpx.BaseTransport, **options: Any) -> Geolocal31Connector:
    config = SourceConfig(key=KEY, name="Géo'local31", connector=KEY, base_url="http://gl",
                          retries=1, options={"bbox": [0, 0, 8, 8], **options})
    client = httpx.Client(transport=transport, base_url="http://gl")
    return Geolocal31Connector(config, client,
                               fetcher=Fetcher(config, client, sleep=lambda s: None))


def listed(results: list[PageResult]) -> Counter[str]:
    return Counter(item["source_id"] for r in results for item in r.listings)


BORDER_POINTS = {
    "center": (4.0, 4.0), "sw": (0.0, 0.0), "ne": (8.0, 8.0), "se": (8.0, 0.0),
    "nw": (0.0, 8.0), "n-edge": (4.0, 8.0), "e-edge": (8.0, 4.0), "mid-q": (2.0, 6.0),
    "mid-q2": (6.0, 2.0), "deep": (1.0, 1.0), "deep2": (3.0, 3.0), "deep3": (1.0, 3.0),
    "a": (0.5, 7.5), "b": (7.9, 0.1), "c": (5.0, 5.0), "d": (6.0, 6.0), "e": (2.0, 2.0),
}


def test_shops_on_tile_borders_are_neither_lost_nor_doubled() -> None:
    log: list[tuple[float, ...]] = []
    results = list(connector(fake_server(BORDER_POINTS, cap=2, log=log)).pages())
    assert listed(results) == Counter(list(BORDER_POINTS))  # each exactly once
    assert not any(r.failed or r.errors for r in results)
    assert len(log) == len(results) and log[0] == (0, 0, 8, 8)
    last = results[-1].checkpoint
    assert last["queue"] == [] and last["counts"]["features"] == len(BORDER_POINTS)


def test_replica_shops_on_the_first_midline_and_on_the_far_edges() -> None:
    platform = Geolocal31(World.generate(seed=5, shops=100))
    platform.base_url, platform.cap = "http://gl", 4
    first = platform.records[0].fields
    lats = [r.fields["lat"] for r in platform.records]
    root = (first["lon"] - 0.5, min(lats), first["lon"] + 0.5, max(lats))
    assert (root[0] + root[2]) / 2 == first["lon"]  # the shop sits on the first midline
    inside = {e["source_id"]: {k: v for k, v in e.items() if k != "source"}
              for e in platform.expected_listings()
              if root[0] <= e["lon"] <= root[2] and root[1] <= e["lat"] <= root[3]}
    assert platform.records[0].source_id in inside and len(inside) > 10
    results = list(connector(httpx.WSGITransport(app=platform.wsgi()),
                             bbox=list(root)).pages())
    assert listed(results) == Counter(list(inside))
    assert {item["source_id"]: item for r in results for item in r.listings} == inside


def test_a_market_hall_over_the_cap_stops_splitting_and_fails_the_tile() -> None:
    # off the dyadic grid, so that one tile alone holds the hall
    points = {f"hall-{i}": (1.3, 1.7) for i in range(5)} | {"x": (6.0, 6.0), "y": (0.5, 7.0)}
    results = list(connector(fake_server(points, cap=3), min_tile=0.01).pages())
    got = listed(results)
    assert got["x"] == got["y"] == 1 and sum(got.values()) == 5  # 3 of the hall: the cap
    capped = [r for r in results if r.failed]
    assert len(capped) == 1 and capped[0].errors[0][1] == "tile_cap"
    assert len(results) < 60  # splitting stopped at the minimum tile size


def test_a_killed_run_resumes_from_the_tile_queue() -> None:
    transport = fake_server(BORDER_POINTS, cap=2)
    first: list[PageResult] = []
    for result in connector(transport).pages():
        first.append(result)
        if len(first) == 4:
            break  # killed
    checkpoint = json.loads(json.dumps(first[-1].checkpoint))  # as stored in the catalog
    assert checkpoint["queue"]
    rest = list(connector(transport).pages(checkpoint))
    assert listed(first) + listed(rest) == Counter(list(BORDER_POINTS))
    assert list(connector(transport).pages({"version": 99})) != []  # unknown: start over


def test_a_lost_tile_fails_its_page_and_the_rest_is_crawled() -> None:
    def fail(box: tuple[float, ...]) -> bool:
        return box == (4.0, 4.0, 8.0, 8.0)
    results = list(connector(fake_server(BORDER_POINTS, cap=2, fail=fail)).pages())
    lost = [r for r in results if r.failed]
    assert len(lost) == 1 and lost[0].page is False and lost[0].errors[0][1] == "http_503"
    got = listed(results)
    assert got["sw"] == got["e"] == 1 and "ne" not in got and "center" not in got


def test_broken_features_are_errors_once_and_touched() -> None:
    extra = [{"type": "Feature", "id": "bad-1", "geometry": None, "properties": {}},
             {"type": "Feature", "geometry": None, "properties": {}}]
    results = list(connector(fake_server({"p": (1.0, 1.0)}, cap=10, extra=extra)).pages())
    errors = [e for r in results for e in r.errors]
    assert [e[1] for e in errors] == ["invalid_record", "invalid_record"]
    assert [t for r in results for t in r.touched] == ["bad-1"]
    assert listed(results) == Counter({"p": 1})


def test_layout_change_and_bad_options() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"shops": []}))
    results = list(connector(transport).pages())
    assert len(results) == 1 and results[0].failed and results[0].errors[0][1] == "layout"
    with pytest.raises(SourceConfigError):
        connector(transport, bbox="1,2,3")
    assert connector(transport, bbox="0.5,42.7,2,43.9").root == (0.5, 42.7, 2.0, 43.9)
