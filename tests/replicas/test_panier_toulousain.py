"""The Panier Toulousain replica: a GraphQL API (graphql-core) with Relay cursor connections."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.test import Client

from crawlers.listing import validate_listing
from replicas.faults import FaultProfile
from replicas.geo import COMMUNES_BY_NAME
from replicas.platforms.panier_toulousain import (
    KEY,
    MAX_FIRST,
    PRESENCE_ZONES,
    SHOP_RATE,
    PanierToulousain,
    cursor_of,
    key_of,
)
from replicas.world import World
from tests.replicas.presence_rule import drawn

SHOPS = "query($after: String, $first: Int!) { commerces(first: $first, after: $after) { " \
        "totalCount pageInfo { endCursor hasNextPage } edges { cursor node { id nom } } } }"
PRODUCTS = "query($id: ID!, $after: String) { commerce(id: $id) { produits(first: 7, " \
           "after: $after) { pageInfo { endCursor hasNextPage } edges { node { id titre " \
           "prix { affiche centimes } } } } } }"


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(7, 300)


@pytest.fixture(scope="module")
def platform(world: World) -> PanierToulousain:
    return PanierToulousain(world)


def ask(client: Client, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", data=json.dumps({"query": query,
                                                        "variables": variables}),
                           content_type="application/json")
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))


def walk(client: Client, query: str, at: str, **variables: Any) -> list[dict[str, Any]]:
    """Every node of a connection (``at``: the path to it under data), by its cursors."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        answer = ask(client, query, after=after, **variables)
        assert "errors" not in answer, answer
        conn = answer["data"]
        for part in at.split("."):
            conn = conn[part]
        nodes += [edge["node"] for edge in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes
        after = conn["pageInfo"]["endCursor"]


def test_walking_the_connections_gives_every_shop_and_product_once(
        platform: PanierToulousain) -> None:
    client = Client(platform.wsgi())
    shops = walk(client, SHOPS, "commerces", first=9)
    assert [n["id"] for n in shops] == [r.source_id for r in platform.records
                                        if r.kind == "shop"]
    products = []
    for shop in shops:
        for node in walk(client, PRODUCTS, "commerce.produits", id=shop["id"]):
            products.append((node["id"], shop["id"]))
    assert products == [(r.source_id, r.fields["shop_source_id"]) for r in platform.records
                        if r.kind == "product"]


def test_bad_queries_answer_errors_and_no_data(platform: PanierToulousain) -> None:
    client = Client(platform.wsgi())
    answer = ask(client, "{ commerces { edges { node { nam } } } }")
    assert answer["data"] is None and "Cannot query field 'nam'" in answer["errors"][0][
        "message"]
    answer = ask(client, SHOPS, first=MAX_FIRST + 1)
    assert answer["errors"][0]["path"] == ["commerces"]
    answer = ask(client, SHOPS, first=5, after="bm9wZQ==")
    assert "invalid cursor" in answer["errors"][0]["message"]
    assert ask(client, '{ commerce(id: "pt-999999") { id } }') == {"data": {"commerce": None}}
    bad = client.post("/graphql", data="query=1", content_type="text/plain")
    assert bad.status_code == 400
    assert client.get("/graphql").status_code == 405


def test_cursors_are_opaque_and_the_cap_bounds_pages(world: World) -> None:
    assert key_of(cursor_of("pt-000012")) == "pt-000012"
    platform = PanierToulousain(world)
    platform.page_cap = 3
    client = Client(platform.wsgi())
    answer = ask(client, SHOPS, first=20)
    assert len(answer["data"]["commerces"]["edges"]) == 3
    assert len(walk(client, SHOPS, "commerces", first=20)) == sum(
        r.kind == "shop" for r in platform.records)


def test_presence_records_and_pages(platform: PanierToulousain, world: World) -> None:
    expected = {s.entity_id for s in world.open_shops()
                if COMMUNES_BY_NAME[s.commune].zone in PRESENCE_ZONES
                and drawn(world, KEY, s.entity_id, SHOP_RATE)}
    assert expected and {r.entity_id for r in platform.records if r.kind == "shop"} == expected
    client = Client(platform.wsgi())
    for listing in platform.expected_listings():
        assert validate_listing(listing) == listing
    for record in platform.records[:20]:
        assert client.get(record.fields["url"]).status_code == 200
    assert platform.key == KEY


def test_broken_nodes_come_only_with_the_fault(world: World) -> None:
    platform = PanierToulousain(world, faults=FaultProfile.parse("bad=0.1"))
    client = Client(platform.wsgi())
    shops = walk(client, SHOPS, "commerces", first=50)
    nameless = [n for n in shops if n["nom"] is None]
    products = [n for shop in shops
                for n in walk(client, PRODUCTS, "commerce.produits", id=shop["id"])]
    bad = [r for r in platform.records if platform.injector.is_bad_record(r.source_id)]
    assert len(nameless) == sum(r.kind == "shop" for r in bad) > 0
    assert sum(n["id"] is None for n in products) == sum(r.kind == "product" for r in bad) > 0
