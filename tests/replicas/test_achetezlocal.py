"""The Achetez Local replica: a POST JSON search API with key pagination and a required key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.test import Client

from crawlers.listing import validate_listing
from replicas.faults import FaultProfile
from replicas.platforms.achetezlocal import API_KEY, KEY, SHOP_RATE, AchetezLocal
from replicas.world import World
from tests.replicas.presence_rule import drawn

HEADERS = {"X-Api-Key": API_KEY, "Accept": "application/json"}


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(7, 300)


@pytest.fixture(scope="module")
def platform(world: World) -> AchetezLocal:
    return AchetezLocal(world)


def search(client: Client, body: Any, headers: dict[str, str] | None = None
           ) -> tuple[int, Any]:
    response = client.post("/api/v2/search", data=json.dumps(body),
                           headers=HEADERS if headers is None else headers,
                           content_type="application/json")
    return response.status_code, json.loads(response.get_data(as_text=True))


def walk(client: Client, index: str, size: int) -> list[dict[str, Any]]:
    """Every hit of an index, page after page by search_after."""
    hits: list[dict[str, Any]] = []
    after = None
    while True:
        status, answer = search(client, {"index": index, "size": size, "search_after": after})
        assert status == 200
        page = answer["hits"]["hits"]
        if not page:
            return hits
        assert answer["hits"]["total"]["value"] >= len(hits) + len(page)
        hits += page
        after = page[-1]["sort"]


def test_walking_each_index_by_key_gives_every_record_once_in_order(
        platform: AchetezLocal) -> None:
    client = Client(platform.wsgi())
    for index, kind in (("boutiques", "shop"), ("produits", "product")):
        hits = walk(client, index, 17)
        records = [r for r in platform.records if r.kind == kind]
        assert [h["_id"] for h in hits] == [r.source_id for r in records]
        assert [h["_source"] for h in hits] == [r.native["source"] for r in records]
    assert platform.injector.injected == dict.fromkeys(platform.injector.injected, 0)


def test_the_api_wants_the_key_and_json_and_refuses_what_is_not_a_search(
        platform: AchetezLocal) -> None:
    client = Client(platform.wsgi())
    body = {"index": "boutiques"}
    assert search(client, body, {"Accept": "application/json"})[0] == 401
    assert search(client, body, {**HEADERS, "X-Api-Key": "guessed"})[0] == 401
    assert search(client, body, {"X-Api-Key": API_KEY, "Accept": "text/html"})[0] == 406
    assert search(client, body, {"X-Api-Key": API_KEY})[0] == 406
    for wrong in ({"index": "magasins"}, {"index": "boutiques", "size": 0},
                  {"index": "boutiques", "size": "10"}, [1],
                  {"index": "boutiques", "search_after": "AL-1"}):
        status, answer = search(client, wrong)
        assert status == 400 and answer["error"]["type"] == "parsing_exception", wrong
    assert client.get("/api/v2/search").status_code == 405
    assert API_KEY in client.get("/static/app.js").get_data(as_text=True)


def test_the_cap_bounds_every_answer_and_the_walk_still_gets_everything(
        world: World) -> None:
    platform = AchetezLocal(world)
    platform.page_cap = 5
    client = Client(platform.wsgi())
    status, answer = search(client, {"index": "produits", "size": 100})
    assert status == 200 and len(answer["hits"]["hits"]) == 5
    assert len(walk(client, "produits", 100)) == sum(r.kind == "product"
                                                     for r in platform.records)


def test_presence_records_and_pages(platform: AchetezLocal, world: World) -> None:
    shops = [r for r in platform.records if r.kind == "shop"]
    entity = {s.entity_id: s for s in world.shops}
    assert shops and all(drawn(world, KEY, r.entity_id, SHOP_RATE) for r in shops)
    assert {r.entity_id for r in shops} == {s.entity_id for s in world.open_shops()
                                            if drawn(world, KEY, s.entity_id, SHOP_RATE)}
    assert all(entity[r.entity_id].is_open for r in shops)
    sids = {r.source_id for r in shops}
    client = Client(platform.wsgi())
    for listing in platform.expected_listings():
        assert validate_listing(listing) == listing
        if listing["kind"] == "product":
            assert listing["shop_source_id"] in sids
    for record in platform.records[:20]:
        assert client.get(record.fields["url"]).status_code == 200
    assert client.get("/boutique/AL-999999").status_code == 404


def test_broken_records_come_only_with_the_fault_right_after_their_good_one(
        world: World) -> None:
    platform = AchetezLocal(world, faults=FaultProfile.parse("bad=0.1"))
    hits = walk(Client(platform.wsgi()), "boutiques", 50) + walk(
        Client(platform.wsgi()), "produits", 50)
    broken = [h for h in hits if h["_id"].endswith("~")]
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert len(broken) == len(bad) > 0
    for hit in broken:
        source = hit["_source"]
        assert source.get("nom", "x") is None or source.get("ref", "x") is None
    assert {r.source_id for r in platform.records} == {
        h["_id"] for h in hits if not h["_id"].endswith("~")}


def test_a_shop_looks_the_same_at_the_next_epoch_unless_it_changed() -> None:
    before = AchetezLocal(World.generate(7, 300, epoch=0))
    after = AchetezLocal(World.generate(7, 300, epoch=1))
    old = {r.source_id: r.fields for r in before.records}
    new = {r.source_id: r.fields for r in after.records}
    same = old.keys() & new.keys()
    assert same and sum(old[k] == new[k] for k in same) > 0.8 * len(same)
    assert before.key == KEY
